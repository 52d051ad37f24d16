/**
 * The outbox relay on SQL: claims due messages with `FOR UPDATE SKIP LOCKED` (so several relays
 * can run at once, each message claimed by one of them for a lease), only the oldest unpublished
 * message of each stream (so order per payment is kept), publishes them outside any transaction,
 * then marks them published, or schedules a retry with exponential backoff and dead-letters after
 * `maxAttempts`. Delivery is at least once: a relay that dies between publish and mark leaves the
 * claim to expire and the message is published again (consumers deduplicate by event id; the
 * JetStream publisher uses it as the message id).
 *
 * @since 0.1.0
 */
import { Outbox } from "@aegispay/core"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Metric, Option } from "effect"
import * as OutboxSignal from "./OutboxSignal.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly batchSize?: number
  readonly maxAttempts?: number
  /** First retry delay; doubles per attempt (default 1 s). */
  readonly backoff?: Duration.DurationInput
  /** How long a claim holds before another relay may take the message (default 30 s). */
  readonly lease?: Duration.DurationInput
  /**
   * Time between passes when there is nothing to do (default 1 s). With an `OutboxSignal` in the
   * context (the SQL Layers provide one), an append wakes the relay sooner; the poll is the fallback.
   */
  readonly pollInterval?: Duration.DurationInput
}

const published = Metric.counter("aegispay_outbox_published_total", {
  description: "Outbox messages published by the relay"
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (publisher: Outbox.Publisher["Type"], options: Options = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const signal = yield* Effect.serviceOption(OutboxSignal.OutboxSignal)
    const batch = options.batchSize ?? 100
    const maxAttempts = options.maxAttempts ?? 10
    const backoffMs = Duration.toMillis(Duration.decode(options.backoff ?? "1 second"))
    const leaseMs = Duration.toMillis(Duration.decode(options.lease ?? "30 seconds"))

    // one statement, atomic without BEGIN/COMMIT
    const claim = sql<{
      readonly id: string
      readonly event_id: string
      readonly stream_id: string
      readonly topic: string
      readonly payload: string
      readonly headers: string
      readonly attempts: number
    }>`
        UPDATE outbox SET claimed_until = now() + ${`${leaseMs} milliseconds`}::interval
        WHERE id IN (
          SELECT o.id FROM outbox o
          WHERE o.published_at IS NULL AND NOT o.dead_lettered AND o.available_at <= now()
            AND (o.claimed_until IS NULL OR o.claimed_until < now())
            AND NOT EXISTS (
              SELECT 1 FROM outbox p
              WHERE p.stream_id = o.stream_id AND p.id < o.id AND p.published_at IS NULL AND NOT p.dead_lettered
            )
          ORDER BY o.id LIMIT ${batch}
          FOR UPDATE SKIP LOCKED
        )
        RETURNING id::text AS id, event_id, stream_id, topic, payload, headers::text AS headers, attempts`

    /** One pass: returns how many messages were published. */
    const runOnce = Effect.gen(function* () {
      const rows = [...(yield* claim)].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
      const done: Array<string> = []
      for (const row of rows) {
        const recorded = JSON.parse(row.payload) as { readonly version: number }
        const message = new Outbox.OutboxMessage({
          eventId: row.event_id as Outbox.OutboxMessage["eventId"],
          streamId: row.stream_id as Outbox.OutboxMessage["streamId"],
          version: recorded.version,
          topic: row.topic,
          payload: row.payload,
          headers: JSON.parse(row.headers) as Record<string, string>,
          attempts: row.attempts
        })
        const result = yield* Effect.either(publisher.publish(message))
        if (result._tag === "Right") {
          done.push(row.id)
        } else {
          const attempts = row.attempts + 1
          const delay = backoffMs * 2 ** Math.min(16, attempts - 1)
          yield* sql`UPDATE outbox SET attempts = ${attempts}, claimed_until = NULL, dead_lettered = ${attempts >= maxAttempts},
            available_at = now() + ${`${delay} milliseconds`}::interval WHERE id = ${row.id}::bigint`
          yield* Effect.logWarning("outbox publish failed; retrying with backoff").pipe(
            Effect.annotateLogs({
              eventId: row.event_id,
              attempts,
              publisher: publisher.name,
              deadLettered: attempts >= maxAttempts
            })
          )
        }
      }
      // one UPDATE marks the whole batch (a relay dying before it lets the claims expire, and the
      // batch is published again: at least once, as before)
      if (done.length > 0) {
        yield* sql`UPDATE outbox SET published_at = now(), claimed_until = NULL WHERE id IN ${sql.in(done)}`
        yield* Metric.update(published, done.length)
      }
      return done.length
    }).pipe(Effect.withSpan("Relay.runOnce"))

    /**
     * Passes until interrupted: the next one at once while there was work, else when an append
     * commits (`OutboxSignal`, listened to before the first pass, so no append is missed) or after
     * the poll interval, whichever comes first.
     */
    const run = Effect.scoped(
      Effect.gen(function* () {
        const next = Option.isSome(signal) ? yield* signal.value.subscribe : Effect.never
        return yield* runOnce.pipe(
          Effect.catchAll((e) =>
            Effect.logError("relay pass failed").pipe(Effect.annotateLogs({ error: String(e) }), Effect.as(0))
          ),
          Effect.flatMap((n) =>
            n > 0 ? Effect.void : OutboxSignal.waitFor(next, options.pollInterval ?? "1 second")
          ),
          Effect.forever
        )
      })
    )

    return { runOnce, run }
  })
