import {
  Card,
  Currency,
  Customer,
  EventStore,
  IdempotencyStore,
  Ids,
  LockManager,
  Money,
  Outbox,
  PaymentEvent,
  PaymentReadModel
} from "@aegispay/core"
import { EventBus, Memory } from "@aegispay/infra"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, DateTime, Effect, Either, Fiber, Layer, Option, Ref, Stream, TestClock } from "effect"

const stores = Memory.layer().pipe(Layer.provide(Ids.layerRandom))
const merchantId = "m_1" as Ids.MerchantId
const pid = (n: number) => `pay_01J9Z8X6Q2M4T7V3B5N8R1K${String(n).padStart(3, "0")}` as Ids.PaymentId

const initiated = (n: number, at = 0, customer = "cus_1"): PaymentEvent.PaymentEvent =>
  new PaymentEvent.PaymentInitiated({
    paymentId: pid(n),
    merchantId,
    amount: Money.make(1000n + BigInt(n), Currency.make("EUR")),
    captureMethod: "automatic",
    customer: new Customer.Customer({ id: customer as Ids.CustomerId }),
    card: new Card.CardSummary({ brand: "visa", last4: "4242", expMonth: 1, expYear: 2030 }),
    metadata: {},
    at: DateTime.unsafeMake(at)
  })
const authenticated = () => new PaymentEvent.PaymentAuthenticated({ at: DateTime.unsafeMake(0) })

describe("Memory EventStore", () => {
  it.effect(
    "100 concurrent appends with the same expected version: exactly one wins, nothing else is written",
    () =>
      Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const results = yield* Effect.all(
          Array.from({ length: 100 }, () =>
            Effect.either(store.append(pid(1), 0, [initiated(1)], { correlationId: "c-1" }))
          ),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter(Either.isRight).length, 1)
        assert.isTrue(results.filter(Either.isLeft).every((r) => r.left._tag === "ConcurrencyConflict"))
        const events = yield* store.read(pid(1))
        assert.deepStrictEqual(
          events.map((e) => e.version),
          [1]
        )
        const db = yield* Memory.MemoryDatabase.pipe(Effect.flatMap((m) => m.snapshot))
        assert.strictEqual(db.outbox.size, 1, "one outbox row, for the one event")
        const row = [...db.outbox.values()][0]!
        assert.strictEqual(row.message.headers["correlation-id"], "c-1")
        assert.strictEqual(row.message.topic, "payments.PaymentInitiated")
        assert.strictEqual(
          yield* store.readAll({ after: 0n, limit: 10 }).pipe(Effect.map((a) => a.length)),
          1
        )
        assert.isTrue(
          Option.isSome(
            yield* Effect.flatMap(PaymentReadModel.PaymentReadModel, (r) => r.get(merchantId, pid(1)))
          )
        )
        assert.isTrue(
          Option.isNone(
            yield* Effect.flatMap(PaymentReadModel.PaymentReadModel, (r) =>
              r.get("other" as Ids.MerchantId, pid(1))
            )
          )
        )
      }).pipe(Effect.provide(stores))
  )
})

describe("Memory IdempotencyStore", () => {
  const claim = { merchantId, key: "k-1" as Ids.IdempotencyKey, requestHash: "h1" }
  it.effect("New, InFlight, Completed with the stored response, Mismatch; lease takeover; 24 h expiry", () =>
    Effect.gen(function* () {
      const store = yield* IdempotencyStore.IdempotencyStore
      assert.strictEqual((yield* store.claim(claim))._tag, "New")
      assert.strictEqual((yield* store.claim(claim))._tag, "InFlight")
      assert.strictEqual((yield* store.claim({ ...claim, requestHash: "h2" }))._tag, "Mismatch")
      yield* TestClock.adjust("31 seconds")
      assert.strictEqual(
        (yield* store.claim(claim))._tag,
        "New",
        "a crashed claim is reclaimable after the lease"
      )
      yield* store.complete(
        claim,
        new IdempotencyStore.StoredResponse({ status: 201, body: '{"id":1}', headers: {} })
      )
      const done = yield* store.claim(claim)
      assert.strictEqual(done._tag === "Completed" ? done.response.body : "", '{"id":1}')
      assert.strictEqual(
        (yield* store.claim({ ...claim, merchantId: "m_2" as Ids.MerchantId }))._tag,
        "New",
        "keys are per merchant"
      )
      yield* TestClock.adjust("24 hours")
      assert.strictEqual((yield* store.claim(claim))._tag, "New", "expired after 24 h")
    }).pipe(Effect.provide(stores))
  )
})

describe("Memory LockManager", () => {
  it.effect("serialises one key, times out, and releases on failure and interruption", () =>
    Effect.gen(function* () {
      const locks = yield* LockManager.LockManager
      const holder = yield* Effect.fork(locks.withLock("p", Effect.sleep("10 seconds")))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(Effect.either(locks.withLock("p", Effect.void, "1 second")))
      yield* TestClock.adjust("1 second")
      const timedOut = yield* Fiber.join(waiter)
      assert.isTrue(Either.isLeft(timedOut) && timedOut.left._tag === "LockTimeout")
      yield* Fiber.interrupt(holder)
      assert.strictEqual(
        yield* locks.withLock("p", Effect.succeed("free"), "1 second"),
        "free",
        "released on interruption"
      )
      yield* Effect.either(locks.withLock("p", Effect.fail("boom"), "1 second"))
      assert.strictEqual(
        yield* locks.withLock("p", Effect.succeed("again"), "1 second"),
        "again",
        "released on failure"
      )
      assert.strictEqual(yield* locks.withLock("q", Effect.succeed("other"), "1 second"), "other")
    }).pipe(Effect.provide(stores))
  )
})

describe("Memory read model", () => {
  it.effect("lists by customer newest first with cursors; rejects a foreign cursor; analytics", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      for (let n = 1; n <= 5; n++)
        yield* store.append(pid(n), 0, [initiated(n, n * 1000, n % 2 === 0 ? "cus_even" : "cus_odd")])
      const read = yield* PaymentReadModel.PaymentReadModel
      const page1 = yield* read.list(merchantId, { customerId: "cus_odd" as Ids.CustomerId, limit: 2 })
      assert.deepStrictEqual(
        page1.data.map((p) => p.id),
        [pid(5), pid(3)]
      )
      const page2 = yield* read.list(merchantId, {
        customerId: "cus_odd" as Ids.CustomerId,
        limit: 2,
        cursor: Option.getOrThrow(page1.nextCursor)
      })
      assert.deepStrictEqual(
        page2.data.map((p) => p.id),
        [pid(1)]
      )
      assert.isTrue(Option.isNone(page2.nextCursor))
      const bad = yield* Effect.either(read.list(merchantId, { limit: 2, cursor: "not-a-cursor" }))
      assert.isTrue(Either.isLeft(bad) && bad.left._tag === "InvalidCursor")
      const stats = yield* read.analytics(merchantId, { from: new Date(0), to: new Date(3500) })
      assert.strictEqual(stats.count, 3)
      assert.deepStrictEqual(
        stats.byCurrency.map((c) => [c.currency, c.count, c.volume]),
        [["EUR", 3, 3006n]]
      )
    }).pipe(Effect.provide(stores))
  )
})

describe("Memory outbox and relay", () => {
  it.scoped(
    "every event has its outbox row; the relay publishes in order per stream; failures dead-letter",
    () =>
      Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const bus = yield* EventBus.EventBus
        const db = yield* Memory.MemoryDatabase
        const stream = yield* bus.subscribe()
        const received = yield* Effect.fork(Stream.runCollect(Stream.take(stream, 6)))
        for (let n = 1; n <= 3; n++) {
          yield* store.append(pid(n), 0, [initiated(n)])
          yield* store.append(pid(n), 1, [authenticated()])
        }
        assert.strictEqual(yield* db.relayOnce(bus.publisher), 3, "one message per stream per pass")
        assert.strictEqual(yield* db.relayOnce(bus.publisher), 3)
        const messages = Chunk.toReadonlyArray(yield* Fiber.join(received))
        for (let n = 1; n <= 3; n++) {
          assert.deepStrictEqual(
            messages.filter((m) => m.streamId === pid(n)).map((m) => m.version),
            [1, 2]
          )
        }
        const outbox = yield* Outbox.Outbox
        assert.strictEqual((yield* outbox.backlog).pending, 0)

        yield* store.append(pid(9), 0, [initiated(9)])
        const calls = yield* Ref.make(0)
        const broken = {
          name: "broken",
          publish: () =>
            Effect.zipRight(
              Ref.update(calls, (c) => c + 1),
              Effect.fail(new Outbox.PublishError({ publisher: "broken", reason: "down" }))
            )
        }
        for (let i = 0; i < 3; i++) {
          yield* db.relayOnce(broken, { maxAttempts: 3, backoff: "1 second" })
          yield* TestClock.adjust("10 seconds")
        }
        assert.strictEqual(yield* Ref.get(calls), 3)
        const letters = yield* outbox.deadLetters(10)
        assert.deepStrictEqual(
          letters.map((m) => m.streamId),
          [pid(9)]
        )
        yield* outbox.redeliver(letters[0]!.eventId)
        assert.strictEqual(yield* db.relayOnce(bus.publisher), 1)
        assert.deepStrictEqual(
          yield* outbox.backlog.pipe(Effect.map((b) => [b.pending, b.deadLettered])),
          [0, 0]
        )
      }).pipe(Effect.provide(Layer.merge(stores, EventBus.layer)))
  )
})
