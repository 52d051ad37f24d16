/**
 * A database outage on demand: wraps the store ports (EventStore, PaymentReadModel,
 * IdempotencyStore, Outbox) of any store Layer so that, while the switch says "down", every call
 * fails with the core `PersistenceError` before it reaches the database, as a connection refused by
 * a dead server would. The outage can also be armed to start right after a given call has
 * succeeded (for instance the append that records `AttemptStarted`), which cuts the database
 * between a PSP call and the recording of its outcome, deterministically.
 *
 * Locks are left alone: the in-memory and PGlite locks are in-process, and on PostgreSQL the
 * advisory locks have a pool of their own.
 */
import { EventStore, IdempotencyStore, Outbox, PaymentReadModel, PersistenceError } from "@aegispay/core"
import type { Database } from "@aegispay/infra"
import { Context, Effect, Layer, Ref } from "effect"

/** The ports the outage wraps. */
export type Ports =
  | EventStore.EventStore
  | PaymentReadModel.PaymentReadModel
  | IdempotencyStore.IdempotencyStore
  | Outbox.Outbox

/** One store call, as the trigger of an armed outage sees it. */
export interface Call {
  /** `Port.method`, e.g. `EventStore.append`. */
  readonly operation: string
  readonly args: ReadonlyArray<unknown>
}

type Mode =
  | { readonly _tag: "Up" }
  | { readonly _tag: "Down" }
  | { readonly _tag: "Armed"; readonly trip: (call: Call) => boolean }

export interface Service {
  /** Every store call fails from now on. */
  readonly down: Effect.Effect<void>
  /** The database is back. */
  readonly up: Effect.Effect<void>
  /** Up until a call matching `trip` has succeeded; every call after it fails. */
  readonly downAfter: (trip: (call: Call) => boolean) => Effect.Effect<void>
  /** The `n`-th store call from now on (1 = the next one) and every call after it fail. */
  readonly downFromCall: (n: number) => Effect.Effect<void>
  /** The operations refused so far, in order. */
  readonly refused: Effect.Effect<ReadonlyArray<string>>
}

export class Outage extends Context.Tag("test/Outage")<Outage, Service>() {}

/** A trigger: the append of an event of this type (e.g. `AttemptStarted`). */
export const appendOf =
  (eventTag: string) =>
  (call: Call): boolean =>
    call.operation === "EventStore.append" &&
    (call.args[2] as ReadonlyArray<{ readonly _tag: string }>).some((e) => e._tag === eventTag)

/** `stores` with its store ports behind the outage switch, plus the `Outage` service. */
export const layer = <E, RIn>(
  stores: Layer.Layer<Database.Stores, E, RIn>
): Layer.Layer<Database.Stores | Outage, E, RIn> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const context = yield* Effect.context<Database.Stores>()
      const ports: Context.Context<Ports> = context
      const mode = yield* Ref.make<Mode>({ _tag: "Up" })
      const refused = yield* Ref.make<ReadonlyArray<string>>([])

      const guard = <A, E2>(
        operation: string,
        args: ReadonlyArray<unknown>,
        self: Effect.Effect<A, E2>
      ): Effect.Effect<A, E2 | PersistenceError.PersistenceError> =>
        Effect.gen(function* () {
          if ((yield* Ref.get(mode))._tag === "Down") {
            yield* Ref.update(refused, (r) => [...r, operation])
            return yield* new PersistenceError.PersistenceError({
              operation,
              cause: new Error("connection refused (database outage injected by the test)")
            })
          }
          const a = yield* self
          yield* Ref.update(mode, (m): Mode =>
            m._tag === "Armed" && m.trip({ operation, args }) ? { _tag: "Down" } : m
          )
          return a
        })

      const store = Context.get(ports, EventStore.EventStore)
      const readModel = Context.get(ports, PaymentReadModel.PaymentReadModel)
      const idempotency = Context.get(ports, IdempotencyStore.IdempotencyStore)
      const outbox = Context.get(ports, Outbox.Outbox)

      const wrapped = Context.make(
        EventStore.EventStore,
        EventStore.EventStore.of({
          append: (streamId, expectedVersion, events, metadata) =>
            guard(
              "EventStore.append",
              [streamId, expectedVersion, events],
              store.append(streamId, expectedVersion, events, metadata)
            ),
          read: (streamId, options) => guard("EventStore.read", [streamId], store.read(streamId, options)),
          readAll: (options) => guard("EventStore.readAll", [options], store.readAll(options))
        })
      ).pipe(
        Context.add(
          PaymentReadModel.PaymentReadModel,
          PaymentReadModel.PaymentReadModel.of({
            get: (merchantId, paymentId) =>
              guard("PaymentReadModel.get", [merchantId, paymentId], readModel.get(merchantId, paymentId)),
            list: (merchantId, query) =>
              guard("PaymentReadModel.list", [merchantId, query], readModel.list(merchantId, query)),
            analytics: (merchantId, range) =>
              guard(
                "PaymentReadModel.analytics",
                [merchantId, range],
                readModel.analytics(merchantId, range)
              ),
            awaitingReconciliation: (options) =>
              guard(
                "PaymentReadModel.awaitingReconciliation",
                [options],
                readModel.awaitingReconciliation(options)
              )
          })
        ),
        Context.add(
          IdempotencyStore.IdempotencyStore,
          IdempotencyStore.IdempotencyStore.of({
            claim: (c) => guard("IdempotencyStore.claim", [c], idempotency.claim(c)),
            complete: (c, response) =>
              guard("IdempotencyStore.complete", [c, response], idempotency.complete(c, response)),
            release: (c) => guard("IdempotencyStore.release", [c], idempotency.release(c))
          })
        ),
        Context.add(
          Outbox.Outbox,
          Outbox.Outbox.of({
            backlog: guard("Outbox.backlog", [], outbox.backlog),
            deadLetters: (limit) => guard("Outbox.deadLetters", [limit], outbox.deadLetters(limit)),
            redeliver: (eventId) => guard("Outbox.redeliver", [eventId], outbox.redeliver(eventId))
          })
        )
      )

      const service: Service = {
        down: Ref.set(mode, { _tag: "Down" }),
        up: Ref.set(mode, { _tag: "Up" }),
        downAfter: (trip) => Ref.set(mode, { _tag: "Armed", trip }),
        downFromCall: (n) => {
          if (n <= 1) return Ref.set(mode, { _tag: "Down" })
          let seen = 0
          return Ref.set(mode, { _tag: "Armed", trip: () => ++seen >= n - 1 })
        },
        refused: Ref.get(refused)
      }
      return Context.merge(context, wrapped).pipe(Context.add(Outage, service))
    })
  ).pipe(Layer.provide(stores))
