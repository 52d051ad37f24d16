/**
 * In-memory Layers of every port, with the same behaviour as the SQL ones: an append writes the
 * events, the read model and one outbox message per event at once (all or nothing) and fails with
 * `ConcurrencyConflict` when the stream moved; idempotency keys follow Stripe's semantics with a
 * 24 h expiry and a lease for in-flight claims (time from `Clock`); locks are per key with a
 * timeout. For tests, demos and a single process; nothing survives a restart.
 *
 * @since 0.1.0
 */
import {
  EventStore,
  IdempotencyStore,
  Ids,
  LockManager,
  Outbox,
  Payment,
  PaymentEvent,
  PaymentReadModel
} from "@aegispay/core"
import { Clock, Context, DateTime, Duration, Effect, Layer, Option, Schema } from "effect"
import {
  analytics,
  awaitsReconciliation,
  decodeCursor,
  encodeCursor,
  newestFirst
} from "./internal/analytics.js"
import * as Locks from "./Locks.js"
import * as OutboxSignal from "./OutboxSignal.js"

interface KeyRow {
  readonly requestHash: string
  readonly lockedAt: number
  readonly expiresAt: number
  readonly response: IdempotencyStore.StoredResponse | undefined
}

interface OutboxRow {
  readonly message: Outbox.OutboxMessage
  readonly position: bigint
  readonly createdAt: number
  publishedAt: number | undefined
  attempts: number
  availableAt: number
  deadLettered: boolean
}

/**
 * The in-memory database behind the Layers: a test can read it to check invariants.
 *
 * @since 0.1.0
 * @category models
 */
export interface Database {
  readonly streams: ReadonlyMap<string, ReadonlyArray<EventStore.RecordedEvent>>
  readonly all: ReadonlyArray<EventStore.RecordedEvent>
  readonly payments: ReadonlyMap<string, Payment.Payment>
  readonly outbox: ReadonlyMap<string, OutboxRow>
}

const EncodedRecordedEvent = Schema.parseJson(EventStore.RecordedEvent)

/**
 * The headers of an event's outbox message: its id and type, and the correlation id and W3C trace
 * parent it was recorded with, so a consumer can deduplicate and continue the trace.
 *
 * @since 0.1.0
 * @category outbox
 */
export const headersOf = (r: EventStore.RecordedEvent): Record<string, string> => ({
  "event-id": r.eventId,
  "event-type": r.type,
  ...(r.metadata.correlationId !== undefined ? { "correlation-id": r.metadata.correlationId } : {}),
  ...(r.metadata.traceparent !== undefined ? { traceparent: r.metadata.traceparent } : {})
})

/**
 * The topic of an event's outbox message: `payments.<EventType>`.
 *
 * @since 0.1.0
 * @category outbox
 */
export const topicOf = (event: PaymentEvent.PaymentEvent): string => `payments.${event._tag}`

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Partial<IdempotencyStore.Options> = {}) =>
  Effect.gen(function* () {
    const ids = yield* Ids.Ids
    const signal = yield* OutboxSignal.makeMemory
    const ttl = Duration.toMillis(Duration.decode(options.ttl ?? IdempotencyStore.defaults.ttl))
    const lease = Duration.toMillis(Duration.decode(options.lease ?? IdempotencyStore.defaults.lease))
    // mutable state owned by this Layer; every access is one synchronous block, so it is atomic
    const streams = new Map<string, ReadonlyArray<EventStore.RecordedEvent>>()
    const all: Array<EventStore.RecordedEvent> = []
    const payments = new Map<string, Payment.Payment>()
    const outbox = new Map<string, OutboxRow>()
    const keys = new Map<string, KeyRow>()
    let position = 0n

    const append: EventStore.Service["append"] = (streamId, expectedVersion, events, metadata = {}) =>
      Effect.gen(function* () {
        const eventIds = yield* Effect.all(events.map(() => ids.eventId))
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.suspend(() => {
          const current = streams.get(streamId) ?? []
          if (current.length !== expectedVersion) {
            return Effect.fail(
              new EventStore.ConcurrencyConflict({ streamId, expectedVersion, actualVersion: current.length })
            )
          }
          // built from values that are already typed, so without re-validating them (per event, hot)
          const recorded = events.map(
            (event, i) =>
              new EventStore.RecordedEvent(
                {
                  eventId: eventIds[i]!,
                  streamId,
                  version: expectedVersion + i + 1,
                  globalPosition: position + BigInt(i) + 1n,
                  type: event._tag,
                  event,
                  metadata,
                  recordedAt: DateTime.unsafeMake(now)
                },
                true
              )
          )
          const before = Payment.replay(current.map((e) => e.event))
          const after = Payment.replay(events, before)
          position += BigInt(events.length)
          streams.set(streamId, [...current, ...recorded])
          all.push(...recorded)
          if (Payment.exists(after)) payments.set(streamId, after)
          for (const r of recorded) {
            outbox.set(r.eventId, {
              message: new Outbox.OutboxMessage(
                {
                  eventId: r.eventId,
                  streamId,
                  version: r.version,
                  topic: topicOf(r.event),
                  payload: Schema.encodeSync(EncodedRecordedEvent)(r),
                  headers: headersOf(r),
                  attempts: 0
                },
                true
              ),
              position: r.globalPosition,
              createdAt: now,
              publishedAt: undefined,
              attempts: 0,
              availableAt: now,
              deadLettered: false
            })
          }
          return Effect.as(signal.wake, recorded)
        })
      })

    const eventStore = EventStore.EventStore.of({
      append,
      read: (streamId, range) =>
        Effect.sync(() =>
          (streams.get(streamId) ?? []).filter(
            (e) =>
              e.version >= (range?.fromVersion ?? 1) &&
              e.version <= (range?.toVersion ?? Number.MAX_SAFE_INTEGER)
          )
        ),
      readAll: ({ after, limit }) =>
        Effect.sync(() => {
          const start = all.findIndex((e) => e.globalPosition > after)
          return start < 0 ? [] : all.slice(start, start + limit)
        })
    })

    const readModel = PaymentReadModel.PaymentReadModel.of({
      get: (merchantId, paymentId) =>
        Effect.sync(() =>
          Option.filter(Option.fromNullable(payments.get(paymentId)), (p) => p.merchantId === merchantId)
        ),
      list: (merchantId, query) =>
        Effect.suspend(() => {
          const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
          if (query.cursor !== undefined && after === undefined)
            return Effect.fail(new PaymentReadModel.InvalidCursor())
          const matching = [...payments.values()]
            .filter(
              (p) =>
                p.merchantId === merchantId &&
                (query.customerId === undefined || p.customer.id === query.customerId) &&
                (query.status === undefined || p.status === query.status) &&
                (after === undefined ||
                  p.createdAt.epochMillis < after.at ||
                  (p.createdAt.epochMillis === after.at && p.id < after.id))
            )
            .sort(newestFirst)
          const data = matching.slice(0, query.limit)
          const last = data[data.length - 1]
          return Effect.succeed({
            data,
            nextCursor:
              matching.length > query.limit && last !== undefined
                ? Option.some(encodeCursor(last))
                : Option.none()
          })
        }),
      analytics: (merchantId, range) =>
        Effect.sync(() =>
          analytics(
            [...payments.values()].filter((p) => p.merchantId === merchantId),
            range.from,
            range.to
          )
        ),
      awaitingReconciliation: ({ limit, updatedBefore }) =>
        Effect.sync(() =>
          [...payments.values()]
            .filter((p) => awaitsReconciliation(p) && p.updatedAt.epochMillis <= updatedBefore.getTime())
            .sort((a, b) => a.updatedAt.epochMillis - b.updatedAt.epochMillis)
            .slice(0, limit)
        )
    })

    const keyOf = (c: IdempotencyStore.Claim) => `${c.merchantId}\u0000${c.key}`
    const idempotency = IdempotencyStore.IdempotencyStore.of({
      claim: (c) =>
        Effect.map(Clock.currentTimeMillis, (now): IdempotencyStore.ClaimResult => {
          const k = keyOf(c)
          const row = keys.get(k)
          const fresh = (): IdempotencyStore.ClaimResult => {
            keys.set(k, {
              requestHash: c.requestHash,
              lockedAt: now,
              expiresAt: now + ttl,
              response: undefined
            })
            return { _tag: "New" }
          }
          if (row === undefined || row.expiresAt <= now) return fresh()
          if (row.requestHash !== c.requestHash) return { _tag: "Mismatch" }
          if (row.response !== undefined) return { _tag: "Completed", response: row.response }
          if (row.lockedAt + lease <= now) return fresh() // its process died: the lease ran out
          return { _tag: "InFlight", lockedAt: new Date(row.lockedAt) }
        }),
      complete: (c, response) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          keys.set(keyOf(c), { requestHash: c.requestHash, lockedAt: now, expiresAt: now + ttl, response })
        }),
      release: (c) =>
        Effect.sync(() => {
          const row = keys.get(keyOf(c))
          if (row !== undefined && row.response === undefined && row.requestHash === c.requestHash)
            keys.delete(keyOf(c))
        })
    })

    const locks = yield* Locks.makeLocal

    const outboxService = Outbox.Outbox.of({
      backlog: Effect.map(Clock.currentTimeMillis, (now) => {
        const rows = [...outbox.values()]
        const pending = rows.filter((r) => r.publishedAt === undefined && !r.deadLettered)
        return {
          pending: pending.length,
          deadLettered: rows.filter((r) => r.deadLettered).length,
          oldestPendingAgeMillis: pending.reduce((m, r) => Math.max(m, now - r.createdAt), 0)
        }
      }),
      deadLetters: (limit) =>
        Effect.sync(() =>
          [...outbox.values()]
            .filter((r) => r.deadLettered)
            .slice(0, limit)
            .map((r) => new Outbox.OutboxMessage({ ...r.message, attempts: r.attempts }))
        ),
      redeliver: (eventId) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const row = outbox.get(eventId)
          if (row !== undefined && row.deadLettered) {
            row.deadLettered = false
            row.attempts = 0
            row.availableAt = now
          }
        })
    })

    /**
     * One relay pass: publishes due messages in global order, keeping order per stream (a stream
     * whose earlier message is still pending waits), retrying with backoff and dead-lettering after
     * `maxAttempts`.
     */
    const relayOnce = (
      publisher: Outbox.Publisher["Type"],
      relay: { readonly batchSize: number; readonly maxAttempts: number; readonly backoff: Duration.Duration }
    ) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const blocked = new Set<string>()
        const due: Array<OutboxRow> = []
        for (const row of [...outbox.values()].sort((a, b) => (a.position < b.position ? -1 : 1))) {
          if (row.publishedAt !== undefined) continue
          const stream = row.message.streamId
          if (blocked.has(stream)) continue
          if (row.deadLettered || row.availableAt > now || due.length >= relay.batchSize) {
            blocked.add(stream)
            continue
          }
          due.push(row)
          blocked.add(stream) // one message per stream per pass keeps order under retries
        }
        let published = 0
        for (const row of due) {
          const result = yield* Effect.either(
            publisher.publish(new Outbox.OutboxMessage({ ...row.message, attempts: row.attempts }))
          )
          const at = yield* Clock.currentTimeMillis
          if (result._tag === "Right") {
            row.publishedAt = at
            published += 1
          } else {
            row.attempts += 1
            row.availableAt = at + Duration.toMillis(relay.backoff) * 2 ** Math.min(10, row.attempts - 1)
            if (row.attempts >= relay.maxAttempts) row.deadLettered = true
          }
        }
        return published
      })

    const database: Effect.Effect<Database> = Effect.sync(() => ({
      streams: new Map(streams),
      all: [...all],
      payments: new Map(payments),
      outbox: new Map(outbox)
    }))

    return {
      eventStore,
      readModel,
      idempotency,
      locks,
      outbox: outboxService,
      relayOnce,
      database,
      signal: signal.signal
    }
  })

/**
 * The in-memory database, for tests that check what was written.
 *
 * @since 0.1.0
 * @category tags
 */
export class MemoryDatabase extends Context.Tag("@aegispay/infra/MemoryDatabase")<
  MemoryDatabase,
  {
    readonly snapshot: Effect.Effect<Database>
    /** One relay pass to `publisher`; returns how many messages were published. */
    readonly relayOnce: (
      publisher: Outbox.Publisher["Type"],
      options?: {
        readonly batchSize?: number
        readonly maxAttempts?: number
        readonly backoff?: Duration.DurationInput
      }
    ) => Effect.Effect<number>
  }
>() {}

/**
 * Every store port in memory, plus `MemoryDatabase` to look inside.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Partial<IdempotencyStore.Options> = {}
): Layer.Layer<
  | EventStore.EventStore
  | PaymentReadModel.PaymentReadModel
  | IdempotencyStore.IdempotencyStore
  | LockManager.LockManager
  | Outbox.Outbox
  | MemoryDatabase
  | OutboxSignal.OutboxSignal,
  never,
  Ids.Ids
> =>
  Layer.effectContext(
    Effect.map(make(options), (m) =>
      Context.make(EventStore.EventStore, m.eventStore).pipe(
        Context.add(PaymentReadModel.PaymentReadModel, m.readModel),
        Context.add(IdempotencyStore.IdempotencyStore, m.idempotency),
        Context.add(LockManager.LockManager, m.locks),
        Context.add(Outbox.Outbox, m.outbox),
        Context.add(OutboxSignal.OutboxSignal, m.signal),
        Context.add(MemoryDatabase, {
          snapshot: m.database,
          relayOnce: (publisher, o) =>
            m.relayOnce(publisher, {
              batchSize: o?.batchSize ?? 100,
              maxAttempts: o?.maxAttempts ?? 10,
              backoff: Duration.decode(o?.backoff ?? "1 second")
            })
        })
      )
    )
  )
