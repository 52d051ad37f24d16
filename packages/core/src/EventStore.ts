/**
 * The EventStore port: append-only payment streams with optimistic concurrency. An implementation
 * writes, in the SAME transaction as the events, the read model rows and one outbox row per event,
 * so no event is ever without its projection or its message, and no message without its event.
 *
 * @since 0.1.0
 */
import { Context, Effect, Schema } from "effect"
import { EventId, PaymentId } from "./Ids.js"
import * as Payment from "./Payment.js"
import { PaymentEvent } from "./PaymentEvent.js"
import type { PersistenceError } from "./PersistenceError.js"

/**
 * Context recorded with every event (and copied into outbox headers).
 *
 * @since 0.1.0
 * @category models
 */
export const EventMetadata = Schema.Struct({
  correlationId: Schema.optional(Schema.String),
  causationId: Schema.optional(Schema.String),
  traceparent: Schema.optional(Schema.String),
  actor: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type EventMetadata = typeof EventMetadata.Type

/**
 * A global position: a bigint, sent as a string of digits on the wire.
 *
 * @since 0.1.0
 * @category models
 */
export const GlobalPosition = Schema.BigInt

/**
 * @since 0.1.0
 * @category models
 */
export class RecordedEvent extends Schema.Class<RecordedEvent>("RecordedEvent")({
  eventId: EventId,
  streamId: PaymentId,
  version: Schema.Int,
  globalPosition: GlobalPosition,
  type: Schema.String,
  event: PaymentEvent,
  metadata: EventMetadata,
  recordedAt: Schema.DateTimeUtc
}) {}

/**
 * The stream moved since it was read: reload, decide again, retry (a bounded number of times).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConcurrencyConflict extends Schema.TaggedError<ConcurrencyConflict>(
  "@aegispay/core/ConcurrencyConflict"
)("ConcurrencyConflict", {
  streamId: Schema.String,
  expectedVersion: Schema.Int,
  actualVersion: Schema.Int
}) {
  override get message(): string {
    return `stream ${this.streamId} is at version ${this.actualVersion}, expected ${this.expectedVersion}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Appends `events` if the stream is at `expectedVersion` (0 for a new stream). Atomic: all or none.
   */
  readonly append: (
    streamId: PaymentId,
    expectedVersion: number,
    events: ReadonlyArray<PaymentEvent>,
    metadata?: EventMetadata
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, ConcurrencyConflict | PersistenceError>
  /** Events of one stream in version order, from `fromVersion` (inclusive, default 1) to `toVersion`. */
  readonly read: (
    streamId: PaymentId,
    options?: { readonly fromVersion?: number; readonly toVersion?: number }
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, PersistenceError>
  /** All events after a global position, in order, for catch-up projections. */
  readonly readAll: (options: {
    readonly after: bigint
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<RecordedEvent>, PersistenceError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class EventStore extends Context.Tag("@aegispay/core/EventStore")<EventStore, Service>() {}

/**
 * A payment's state as of a version or a point in time ("time travel"), by replaying its events.
 *
 * @since 0.1.0
 * @category queries
 */
export const stateAt = (
  streamId: PaymentId,
  at: { readonly version: number } | { readonly time: Date }
): Effect.Effect<Payment.State, PersistenceError, EventStore> =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const events = yield* store.read(streamId, "version" in at ? { toVersion: at.version } : {})
    const upTo = "time" in at ? events.filter((e) => e.recordedAt.epochMillis <= at.time.getTime()) : events
    return Payment.replay(upTo.map((e) => e.event))
  })

/**
 * The current state of a payment and its version, for `decide` then `append`.
 *
 * @since 0.1.0
 * @category queries
 */
export const load = (streamId: PaymentId): Effect.Effect<Payment.State, PersistenceError, EventStore> =>
  Effect.flatMap(EventStore, (store) => store.read(streamId)).pipe(
    Effect.map((events) => Payment.replay(events.map((e) => e.event)))
  )
