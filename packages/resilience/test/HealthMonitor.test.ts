import { HealthMonitor } from "@aegispay/resilience"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, TestClock } from "effect"
import * as fc from "fast-check"

/** The definition: the smallest sample with at least p% of the samples at or below it. */
const exact = (values: ReadonlyArray<number>, p: number) =>
  [...values]
    .sort((a, b) => a - b)
    .find((v) => values.filter((x) => x <= v).length >= (p / 100) * values.length) ?? 0

describe("HealthMonitor", () => {
  it.prop(
    "percentiles equal an exact computation on random samples",
    [
      fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 300 }),
      fc.constantFrom(50, 95, 99)
    ],
    ([values, p]) => {
      const sorted = [...values].sort((a, b) => a - b)
      assert.strictEqual(HealthMonitor.percentile(sorted, p), exact(values, p))
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.effect("windows of the last N calls and the last T, rates, errors by type, score", () =>
    Effect.gen(function* () {
      const health = yield* HealthMonitor.make({
        calls: 10,
        duration: "30 seconds",
        latencyTarget: "200 millis"
      })
      for (let i = 0; i < 5; i++) yield* health.record("psp", { latency: Duration.millis(100) })
      yield* health.record("psp", { latency: Duration.millis(400), error: "Retryable" })
      yield* health.record("psp", { latency: Duration.millis(400), error: "Ambiguous" })
      yield* health.record("psp", { latency: Duration.millis(400), error: "Retryable" })
      const s = yield* health.snapshot("psp")
      assert.strictEqual(s.volume, 8)
      assert.strictEqual(s.successRate, 5 / 8)
      assert.deepStrictEqual(s.errorsByType, { Retryable: 2, Ambiguous: 1 })
      assert.deepStrictEqual(s.latency, { p50: 100, p95: 400, p99: 400 })
      assert.closeTo(s.score, 0.7 * (5 / 8) + 0.3 * (1 / (1 + 400 / 200)), 1e-9)
      assert.strictEqual((yield* health.snapshot("psp", "open")).score, 0)

      for (let i = 0; i < 10; i++) yield* health.record("psp", { latency: Duration.millis(10) })
      assert.strictEqual((yield* health.snapshot("psp")).successRate, 1, "only the last 10 calls count")
      yield* TestClock.adjust("31 seconds")
      const empty = yield* health.snapshot("psp")
      assert.strictEqual(empty.volume, 0, "and none older than 30 s")
      assert.strictEqual(empty.score, 1)
    })
  )

  it.effect("track records latency and the error's tag", () =>
    Effect.gen(function* () {
      const health = yield* HealthMonitor.make()
      yield* Effect.ignore(health.track("psp")(Effect.fail({ _tag: "SoftDecline" })))
      yield* health.track("psp")(Effect.void)
      const s = yield* health.snapshot("psp")
      assert.deepStrictEqual([s.volume, s.errorsByType["SoftDecline"]], [2, 1])
    })
  )
})
