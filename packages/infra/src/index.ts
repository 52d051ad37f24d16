/**
 * @since 0.1.0
 */
export * as Database from "./Database.js"
export * as EventBus from "./EventBus.js"
export * as JetStream from "./JetStream.js"
export * as Locks from "./Locks.js"
export * as Memory from "./Memory.js"
export * as Migrations from "./Migrations.js"
export * as OutboxSignal from "./OutboxSignal.js"
export * as PgliteClient from "./PgliteClient.js"
export * as Relay from "./Relay.js"
export * as SqlStores from "./SqlStores.js"
export * as Testing from "./Testing.js"
export * as Webhooks from "./Webhooks.js"
