/**
 * @since 0.1.0
 */
export * as Routing from "./Routing.js"
