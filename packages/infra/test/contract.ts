/**
 * One contract suite per store port, run against each Layer (memory, PGlite, PostgreSQL).
 */
import {
  EventStore,
  Failure,
  IdempotencyStore,
  Ids,
  LockManager,
  Outbox,
  PaymentEvent,
  PaymentReadModel
} from "@aegispay/core"
import type { Database } from "@aegispay/infra"
import { assert, describe, layer } from "@effect/vitest"
import { Clock, DateTime, Effect, Either, Fiber, type Layer, Option, TestClock } from "effect"
import { initiated } from "./support/events.js"

let counter = 0
/** Ids unique across the suites sharing one database. */
const fresh = () => {
  counter += 1
  return `pay_01J9Z8X6Q2M4T7V3B5N8${String(counter).padStart(6, "0")}` as Ids.PaymentId
}

const started = (
  paymentId: Ids.PaymentId,
  merchantId: string,
  at = 0,
  customer = "cus_1",
  captureMethod: PaymentEvent.CaptureMethod = "automatic"
) => initiated(paymentId, { merchantId, amount: 1000n, at, customer, captureMethod })

export const contract = (name: string, stores: Layer.Layer<Database.Stores, unknown>) =>
  layer(stores, { timeout: "60 seconds" })(`${name} stores`, (it) => {
    describe("EventStore", () => {
      it.effect(
        "100 concurrent appends with the same expected version: one wins, nothing else is written",
        () =>
          Effect.gen(function* () {
            const store = yield* EventStore.EventStore
            const outbox = yield* Outbox.Outbox
            const id = fresh()
            const before = (yield* outbox.backlog).pending
            const results = yield* Effect.all(
              Array.from({ length: 100 }, () =>
                Effect.either(store.append(id, 0, [started(id, "m_es")], { correlationId: "c-1" }))
              ),
              { concurrency: "unbounded" }
            )
            assert.strictEqual(results.filter(Either.isRight).length, 1)
            assert.isTrue(results.filter(Either.isLeft).every((r) => r.left._tag === "ConcurrencyConflict"))
            const events = yield* store.read(id)
            assert.deepStrictEqual(
              events.map((e) => e.version),
              [1]
            )
            assert.strictEqual(events[0]?.metadata.correlationId, "c-1")
            assert.strictEqual(
              (yield* outbox.backlog).pending,
              before + 1,
              "one outbox row for the one event"
            )
            const stale = yield* Effect.either(store.append(id, 0, [started(id, "m_es")]))
            assert.isTrue(
              Either.isLeft(stale) &&
                stale.left._tag === "ConcurrencyConflict" &&
                stale.left.actualVersion === 1
            )
            const gap = yield* Effect.either(store.append(id, 5, [started(id, "m_es")]))
            assert.isTrue(Either.isLeft(gap) && gap.left._tag === "ConcurrencyConflict")
            const all = yield* store.readAll({ after: 0n, limit: 100_000 })
            assert.isTrue(all.some((e) => e.eventId === events[0]!.eventId))
            assert.isTrue(
              all.every((e, i) => i === 0 || all[i - 1]!.globalPosition < e.globalPosition),
              "global order"
            )
          })
      )
    })

    describe("PaymentReadModel", () => {
      it.effect("by id per merchant, by customer newest first with cursors, analytics", () =>
        Effect.gen(function* () {
          const store = yield* EventStore.EventStore
          const read = yield* PaymentReadModel.PaymentReadModel
          const merchant = `m_rm_${name.replace(/\W/g, "")}`
          const ids = [fresh(), fresh(), fresh(), fresh(), fresh()]
          for (const [i, id] of ids.entries())
            yield* store.append(id, 0, [
              started(id, merchant, (i + 1) * 1000, i % 2 === 0 ? "cus_odd" : "cus_even")
            ])
          assert.isTrue(Option.isSome(yield* read.get(merchant as Ids.MerchantId, ids[0]!)))
          assert.isTrue(
            Option.isNone(yield* read.get("someone_else" as Ids.MerchantId, ids[0]!)),
            "merchant isolation"
          )
          const page1 = yield* read.list(merchant as Ids.MerchantId, {
            customerId: "cus_odd" as Ids.CustomerId,
            limit: 2
          })
          assert.deepStrictEqual(
            page1.data.map((p) => p.id),
            [ids[4], ids[2]]
          )
          const page2 = yield* read.list(merchant as Ids.MerchantId, {
            customerId: "cus_odd" as Ids.CustomerId,
            limit: 2,
            cursor: Option.getOrThrow(page1.nextCursor)
          })
          assert.deepStrictEqual(
            page2.data.map((p) => p.id),
            [ids[0]]
          )
          assert.isTrue(Option.isNone(page2.nextCursor))
          const bad = yield* Effect.either(
            read.list(merchant as Ids.MerchantId, { limit: 2, cursor: "garbage" })
          )
          assert.isTrue(Either.isLeft(bad) && bad.left._tag === "InvalidCursor")
          const stats = yield* read.analytics(merchant as Ids.MerchantId, {
            from: new Date(0),
            to: new Date(3500)
          })
          assert.strictEqual(stats.count, 3)
        })
      )

      it.effect(
        "awaitingReconciliation lists a pending attempt, a pending capture and a pending void until settled",
        () =>
          Effect.gen(function* () {
            const store = yield* EventStore.EventStore
            const read = yield* PaymentReadModel.PaymentReadModel
            const gateway = "gw_contract" as Ids.GatewayId
            const at = (ms: number) => DateTime.unsafeMake(ms)
            const awaiting = (id: Ids.PaymentId) =>
              Effect.map(
                read.awaitingReconciliation({
                  limit: 100_000,
                  updatedBefore: new Date(Date.UTC(2100, 0, 1))
                }),
                (ps) => ps.some((p) => p.id === id)
              )
            const failure = new Failure.Failure({
              code: "do_not_honor",
              message: "no",
              category: "soft_decline"
            })
            const amount = 1000n as PaymentEvent.CaptureRequested["amount"]
            const [capturing, voiding] = [fresh(), fresh()]
            for (const id of [capturing, voiding]) {
              yield* store.append(id, 0, [
                started(id, "m_rec", 0, "cus_1", "manual"),
                new PaymentEvent.PaymentAuthenticated({ at: at(1) }),
                new PaymentEvent.AttemptStarted({
                  attempt: 1,
                  gateway,
                  idempotencyKey: Ids.attemptKey(id, 1),
                  at: at(2)
                })
              ])
              assert.isTrue(yield* awaiting(id), "a pending attempt")
              yield* store.append(id, 3, [
                new PaymentEvent.PaymentAuthorized({
                  attempt: 1,
                  gateway,
                  gatewayReference: "pi_1",
                  amount,
                  at: at(3)
                })
              ])
              assert.isFalse(
                yield* awaiting(id),
                "an authorization waits for its merchant, not the reconciler"
              )
            }
            yield* store.append(capturing, 4, [new PaymentEvent.CaptureRequested({ amount, at: at(4) })])
            yield* store.append(voiding, 4, [new PaymentEvent.VoidRequested({ at: at(4) })])
            assert.deepStrictEqual([yield* awaiting(capturing), yield* awaiting(voiding)], [true, true])
            yield* store.append(capturing, 5, [
              new PaymentEvent.PaymentCaptured({
                attempt: 1,
                gateway,
                gatewayReference: "pi_1",
                amount,
                at: at(5)
              })
            ])
            yield* store.append(voiding, 5, [new PaymentEvent.VoidFailed({ failure, at: at(5) })])
            assert.deepStrictEqual([yield* awaiting(capturing), yield* awaiting(voiding)], [false, false])
            const settled = yield* read.get("m_rec" as Ids.MerchantId, capturing)
            const p = Option.getOrThrow(settled)
            assert.deepStrictEqual(
              [p.status, p.amountCaptured, p.pendingOperation],
              ["succeeded", 1000n, undefined]
            )
          })
      )
    })

    describe("IdempotencyStore", () => {
      it.effect("New, InFlight, Mismatch, lease takeover, Completed replay, per merchant, 24 h expiry", () =>
        Effect.gen(function* () {
          const store = yield* IdempotencyStore.IdempotencyStore
          const claim = {
            merchantId: "m_idem" as Ids.MerchantId,
            key: `k-${fresh()}` as Ids.IdempotencyKey,
            requestHash: "h1"
          }
          assert.strictEqual((yield* store.claim(claim))._tag, "New")
          assert.strictEqual((yield* store.claim(claim))._tag, "InFlight")
          assert.strictEqual((yield* store.claim({ ...claim, requestHash: "h2" }))._tag, "Mismatch")
          yield* TestClock.adjust("31 seconds")
          assert.strictEqual((yield* store.claim(claim))._tag, "New", "the lease of a crashed claim ran out")
          yield* store.complete(
            claim,
            new IdempotencyStore.StoredResponse({ status: 201, body: '{"id":"x"}', headers: {} })
          )
          const done = yield* store.claim(claim)
          assert.strictEqual(done._tag === "Completed" ? done.response.body : "", '{"id":"x"}')
          assert.strictEqual(
            (yield* store.claim({ ...claim, merchantId: "m_other" as Ids.MerchantId }))._tag,
            "New"
          )
          yield* TestClock.adjust("24 hours")
          assert.strictEqual((yield* store.claim(claim))._tag, "New", "expired")
          const released = { ...claim, key: `r-${fresh()}` as Ids.IdempotencyKey }
          yield* store.claim(released)
          yield* store.release(released)
          assert.strictEqual((yield* store.claim(released))._tag, "New", "released")
        })
      )
    })

    describe("IdempotencyStore under contention", () => {
      it.effect(
        "concurrent claims of one key: exactly one New while free, fresh, expired or past its lease",
        () =>
          Effect.gen(function* () {
            const store = yield* IdempotencyStore.IdempotencyStore
            const claim = {
              merchantId: "m_race" as Ids.MerchantId,
              key: `race-${fresh()}` as Ids.IdempotencyKey,
              requestHash: "h1"
            }
            const race = Effect.all(
              Array.from({ length: 30 }, () => store.claim(claim)),
              { concurrency: "unbounded" }
            ).pipe(Effect.map((results) => results.map((r) => r._tag).sort()))
            const oneNew = ["New", ...Array.from({ length: 29 }, () => "InFlight")].sort()
            assert.deepStrictEqual(yield* race, oneNew, "a fresh key")
            yield* TestClock.adjust("31 seconds")
            assert.deepStrictEqual(yield* race, oneNew, "past the lease of the first claim")
            yield* store.complete(
              claim,
              new IdempotencyStore.StoredResponse({ status: 201, body: "{}", headers: {} })
            )
            assert.deepStrictEqual(
              yield* race,
              Array.from({ length: 30 }, () => "Completed"),
              "completed: everyone replays"
            )
            yield* TestClock.adjust("25 hours")
            assert.deepStrictEqual(yield* race, oneNew, "expired")
            const other = yield* Effect.all(
              Array.from({ length: 10 }, () => store.claim({ ...claim, requestHash: "h2" })),
              { concurrency: "unbounded" }
            )
            assert.isTrue(
              other.every((r) => r._tag === "Mismatch"),
              "another request on a key in flight"
            )
          })
      )
    })

    describe("LockManager", () => {
      it.effect("serialises a key, times out, releases on failure and interruption (real clock)", () =>
        Effect.gen(function* () {
          const locks = yield* LockManager.LockManager
          const key = `lock-${fresh()}`
          const holder = yield* Effect.fork(locks.withLock(key, Effect.never))
          yield* Effect.sleep("100 millis")
          const timedOut = yield* Effect.either(locks.withLock(key, Effect.void, "200 millis"))
          assert.isTrue(Either.isLeft(timedOut) && timedOut.left._tag === "LockTimeout")
          yield* Fiber.interrupt(holder)
          assert.strictEqual(yield* locks.withLock(key, Effect.succeed("free"), "2 seconds"), "free")
          yield* Effect.either(locks.withLock(key, Effect.fail("boom"), "2 seconds"))
          assert.strictEqual(yield* locks.withLock(key, Effect.succeed("again"), "2 seconds"), "again")
        }).pipe(Effect.withClock(Clock.make()))
      )
    })
  })

export { Ids }
