/**
 * Minimal in-memory stores for the orchestrator's unit tests (the full-featured ones, with the
 * contract suites, live in @aegispay/infra).
 */
import {
  EventStore,
  IdempotencyStore,
  Ids,
  LockManager,
  Payment,
  PaymentReadModel,
  type PaymentEvent
} from "@aegispay/core"
import { Clock, Context, DateTime, Duration, Effect, Either, Layer, Option, Ref } from "effect"

interface KeyRow {
  readonly hash: string
  readonly response?: IdempotencyStore.StoredResponse
}

export const layer = Layer.effectContext(
  Effect.gen(function* () {
    const streams = yield* Ref.make(new Map<string, ReadonlyArray<EventStore.RecordedEvent>>())
    const keys = yield* Ref.make(new Map<string, KeyRow>())
    const lockSem = yield* Ref.make(new Map<string, Effect.Semaphore>())
    let position = 0n
    let seq = 0

    const append: EventStore.Service["append"] = (streamId, expectedVersion, events, metadata = {}) =>
      Effect.gen(function* () {
        const ms = yield* Clock.currentTimeMillis
        const outcome = yield* Ref.modify(
          streams,
          (
            map
          ): readonly [
            Either.Either<ReadonlyArray<EventStore.RecordedEvent>, number>,
            Map<string, ReadonlyArray<EventStore.RecordedEvent>>
          ] => {
            const current = map.get(streamId) ?? []
            if (current.length !== expectedVersion) return [Either.left(current.length), map]
            const recorded = events.map(
              (event: PaymentEvent.PaymentEvent, i) =>
                new EventStore.RecordedEvent({
                  eventId:
                    `evt_${Ids.ulid(ms, [seq++ & 31, (seq >> 5) & 31, (seq >> 10) & 31])}` as Ids.EventId,
                  streamId,
                  version: expectedVersion + i + 1,
                  globalPosition: ++position,
                  type: event._tag,
                  event,
                  metadata,
                  recordedAt: DateTime.unsafeMake(ms)
                })
            )
            return [Either.right(recorded), new Map(map).set(streamId, [...current, ...recorded])]
          }
        )
        return yield* Either.match(outcome, {
          onLeft: (actualVersion) =>
            Effect.fail(new EventStore.ConcurrencyConflict({ streamId, expectedVersion, actualVersion })),
          onRight: Effect.succeed
        })
      })

    const read: EventStore.Service["read"] = (streamId, options) =>
      Effect.map(Ref.get(streams), (map) =>
        (map.get(streamId) ?? []).filter(
          (e) =>
            e.version >= (options?.fromVersion ?? 1) &&
            e.version <= (options?.toVersion ?? Number.MAX_SAFE_INTEGER)
        )
      )

    const states = Effect.map(Ref.get(streams), (map) =>
      [...map.values()].map((events) => Payment.replay(events.map((e) => e.event))).filter(Payment.exists)
    )

    const readModel = PaymentReadModel.PaymentReadModel.of({
      get: (merchantId, paymentId) =>
        Effect.map(states, (all) =>
          Option.fromNullable(all.find((p) => p.id === paymentId && p.merchantId === merchantId))
        ),
      list: (merchantId, query) =>
        Effect.map(states, (all) => ({
          data: all.filter((p) => p.merchantId === merchantId).slice(0, query.limit),
          nextCursor: Option.none()
        })),
      analytics: () => Effect.die("not used in these tests"),
      awaitingReconciliation: ({ limit }) =>
        Effect.map(states, (all) =>
          all
            .filter(
              (p) =>
                (p.status === "processing" &&
                  ["pending", "unknown"].includes(Payment.currentAttempt(p)?.status ?? "")) ||
                p.amountRefundPending > 0n
            )
            .slice(0, limit)
        )
    })

    const idempotency = IdempotencyStore.IdempotencyStore.of({
      claim: (c) =>
        Ref.modify(keys, (map): readonly [IdempotencyStore.ClaimResult, Map<string, KeyRow>] => {
          const k = `${c.merchantId}\u0000${c.key}`
          const existing = map.get(k)
          if (existing === undefined) return [{ _tag: "New" }, new Map(map).set(k, { hash: c.requestHash })]
          if (existing.hash !== c.requestHash) return [{ _tag: "Mismatch" }, map]
          if (existing.response === undefined) return [{ _tag: "InFlight", lockedAt: new Date(0) }, map]
          return [{ _tag: "Completed", response: existing.response }, map]
        }),
      complete: (c, response) =>
        Ref.update(keys, (map) =>
          new Map(map).set(`${c.merchantId}\u0000${c.key}`, { hash: c.requestHash, response })
        ),
      release: (c) =>
        Ref.update(keys, (map) => {
          const next = new Map(map)
          next.delete(`${c.merchantId}\u0000${c.key}`)
          return next
        })
    })

    const semaphore = (key: string) =>
      Effect.flatMap(Effect.makeSemaphore(1), (fresh) =>
        Ref.modify(lockSem, (map) => {
          const existing = map.get(key)
          return existing ? [existing, map] : [fresh, new Map(map).set(key, fresh)]
        })
      )
    const locks = LockManager.LockManager.of({
      withLock: (key, effect, timeout = "10 seconds") =>
        Effect.flatMap(semaphore(key), (sem) =>
          Effect.acquireUseRelease(
            sem.take(1).pipe(
              Effect.timeoutFail({
                duration: timeout,
                onTimeout: () => new LockManager.LockTimeout({ key, timeout: Duration.decode(timeout) })
              })
            ),
            () => effect,
            () => sem.release(1)
          )
        )
    })

    return EventStoreContext(append, read, readModel, idempotency, locks)
  })
)

const EventStoreContext = (
  append: EventStore.Service["append"],
  read: EventStore.Service["read"],
  readModel: PaymentReadModel.Service,
  idempotency: IdempotencyStore.Service,
  locks: LockManager.Service
) =>
  Context.make(EventStore.EventStore, {
    append,
    read,
    readAll: () => Effect.die("not used in these tests")
  }).pipe(
    Context.add(PaymentReadModel.PaymentReadModel, readModel),
    Context.add(IdempotencyStore.IdempotencyStore, idempotency),
    Context.add(LockManager.LockManager, locks)
  )
