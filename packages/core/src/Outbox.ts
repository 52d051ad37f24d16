/**
 * The Outbox port: one message per recorded event, written in the event's transaction, delivered
 * at least once by a relay to publishers (in-process bus, NATS JetStream, webhooks). Consumers
 * deduplicate by `eventId`.
 *
 * @since 0.1.0
 */
import { Context, Effect, Schema } from "effect"
import { EventId, PaymentId } from "./Ids.js"
import type { PersistenceError } from "./PersistenceError.js"

/**
 * @since 0.1.0
 * @category models
 */
export class OutboxMessage extends Schema.Class<OutboxMessage>("OutboxMessage")({
  eventId: EventId,
  streamId: PaymentId,
  version: Schema.Int,
  topic: Schema.String,
  /** The recorded event, JSON-encoded. */
  payload: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  attempts: Schema.Int
}) {}

/**
 * @since 0.1.0
 * @category errors
 */
export class PublishError extends Schema.TaggedError<PublishError>("@aegispay/core/PublishError")(
  "PublishError",
  {
    publisher: Schema.String,
    reason: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `${this.publisher} could not publish: ${this.reason}`
  }
}

/**
 * Where the relay delivers messages. Delivery is at least once: `publish` must be safe to repeat.
 *
 * @since 0.1.0
 * @category tags
 */
export class Publisher extends Context.Tag("@aegispay/core/Publisher")<
  Publisher,
  {
    readonly name: string
    readonly publish: (message: OutboxMessage) => Effect.Effect<void, PublishError>
  }
>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Backlog {
  readonly pending: number
  readonly deadLettered: number
  readonly oldestPendingAgeMillis: number
}

/**
 * Inspection and operation of the outbox.
 *
 * @since 0.1.0
 * @category tags
 */
export class Outbox extends Context.Tag("@aegispay/core/Outbox")<
  Outbox,
  {
    readonly backlog: Effect.Effect<Backlog, PersistenceError>
    readonly deadLetters: (limit: number) => Effect.Effect<ReadonlyArray<OutboxMessage>, PersistenceError>
    /** Puts a dead-lettered message back in line. */
    readonly redeliver: (eventId: EventId) => Effect.Effect<void, PersistenceError>
  }
>() {}
