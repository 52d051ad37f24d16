import { Ids } from "@aegispay/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Random, Schema, TestClock } from "effect"

describe("Ids", () => {
  it.effect("are valid, time-ordered, and replayable under a seeded Random", () =>
    Effect.gen(function* () {
      const make = Effect.gen(function* () {
        const ids = yield* Ids.Ids
        const a = yield* ids.paymentId
        yield* TestClock.adjust("1 millis")
        const b = yield* ids.paymentId
        return [a, b, yield* ids.refundId, yield* ids.eventId] as const
      }).pipe(Effect.provide(Ids.layerRandom))
      const first = yield* make.pipe(Effect.withRandom(Random.make("seed")))
      assert.isTrue(Schema.is(Ids.PaymentId)(first[0]))
      assert.isTrue(Schema.is(Ids.RefundId)(first[2]))
      assert.isTrue(Schema.is(Ids.EventId)(first[3]))
      assert.isTrue(first[0] < first[1], "later ids sort after earlier ones")
      yield* TestClock.setTime(0)
      const second = yield* make.pipe(Effect.withRandom(Random.make("seed")))
      assert.deepStrictEqual(second, first)
    })
  )

  it.effect("the live layer draws from the system's random source", () =>
    Effect.gen(function* () {
      const ids = yield* Ids.Ids
      const all = yield* Effect.all(Array.from({ length: 1000 }, () => ids.paymentId))
      assert.strictEqual(new Set(all).size, 1000)
      assert.isTrue(all.every(Schema.is(Ids.PaymentId)))
    }).pipe(Effect.provide(Ids.layer))
  )

  it("attempt keys are <paymentId>:<attempt>", () => {
    const key = Ids.attemptKey("pay_01J9Z8X6Q2M4T7V3B5N8R1K0CD" as Ids.PaymentId, 2)
    assert.strictEqual(key, "pay_01J9Z8X6Q2M4T7V3B5N8R1K0CD:2")
    assert.isTrue(Schema.is(Ids.AttemptKey)(key))
  })
})
