import { Bulkhead, Chaos } from "@aegispay/resilience"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, Ref, TestClock } from "effect"

const outcomes = (chaos: Chaos.Service, n: number) =>
  Effect.forEach(Array.from({ length: n }), () =>
    Effect.map(Effect.either(chaos.wrap(Effect.succeed("ok"))), (r) =>
      Either.isRight(r) ? "ok" : r.left.kind
    )
  )

describe("Chaos", () => {
  it.effect("faults are drawn from the seed, so a run replays", () =>
    Effect.gen(function* () {
      const faults = { error: { probability: 0.2 }, lostResult: { probability: 0.1 } }
      const a = yield* outcomes(yield* Chaos.make({ seed: 7, faults }), 200)
      const b = yield* outcomes(yield* Chaos.make({ seed: 7, faults }), 200)
      const c = yield* outcomes(yield* Chaos.make({ seed: 8, faults }), 200)
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a, c)
      const errors = a.filter((x) => x === "error").length
      assert.isTrue(errors > 20 && errors < 60, `about 20% errors, got ${errors}`)
    })
  )

  it.effect("a lost result: the effect ran, the caller sees a failure", () =>
    Effect.gen(function* () {
      const chaos = yield* Chaos.make({ seed: 1, faults: { lostResult: { probability: 1 } } })
      const ran = yield* Ref.make(0)
      const r = yield* Effect.either(chaos.wrap(Ref.updateAndGet(ran, (n) => n + 1)))
      assert.isTrue(Either.isLeft(r) && r.left.kind === "lost_result")
      assert.strictEqual(yield* Ref.get(ran), 1)
    })
  )

  it.effect("timeouts and latency use the clock; switched off at run time", () =>
    Effect.gen(function* () {
      const chaos = yield* Chaos.make({
        seed: 1,
        faults: { timeout: { probability: 1, after: "30 seconds" } }
      })
      const fiber = yield* Effect.fork(Effect.either(chaos.wrap(Effect.succeed(1))))
      yield* TestClock.adjust("30 seconds")
      const r = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(r) && r.left.kind === "timeout")
      yield* chaos.disable
      assert.deepStrictEqual(yield* chaos.wrap(Effect.succeed(1)), 1)
      yield* chaos.enable
      yield* chaos.set({ latency: { probability: 1, min: "1 second", max: "1 second" } })
      const slow = yield* Effect.fork(chaos.wrap(Effect.succeed(2)))
      yield* TestClock.adjust("999 millis")
      assert.isTrue((yield* Fiber.poll(slow))._tag === "None")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(slow), 2)
    })
  )
})

describe("Bulkhead and timeout", () => {
  it.effect("refuses beyond max concurrent plus queue, per key", () =>
    Effect.gen(function* () {
      const bulkhead = yield* Bulkhead.make({ maxConcurrent: 2, maxQueue: 1 })
      const fibers = yield* Effect.forEach(Array.from({ length: 4 }), () =>
        Effect.fork(Effect.either(bulkhead.run("psp")(Effect.sleep("1 second"))))
      )
      yield* Effect.yieldNow()
      assert.deepStrictEqual(yield* bulkhead.usage("psp"), { running: 2, waiting: 1 })
      assert.isTrue(
        Either.isRight(yield* Effect.either(bulkhead.run("other")(Effect.void))),
        "another key is free"
      )
      yield* TestClock.adjust("2 seconds")
      const results = yield* Effect.forEach(fibers, Fiber.join)
      assert.strictEqual(results.filter((r) => Either.isLeft(r) && r.left._tag === "BulkheadFull").length, 1)
      assert.deepStrictEqual(yield* bulkhead.usage("psp"), { running: 0, waiting: 0 })
    })
  )

  it.effect("timeout fails with TimeoutError", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(Effect.either(Bulkhead.timeout("1 second")(Effect.never)))
      yield* TestClock.adjust("1 second")
      const r = yield* Fiber.join(fiber)
      assert.isTrue(Either.isLeft(r) && r.left._tag === "TimeoutError")
    })
  )
})
