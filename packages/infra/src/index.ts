/**
 * @since 0.1.0
 */
export * as EventBus from "./EventBus.js"
export * as Memory from "./Memory.js"
