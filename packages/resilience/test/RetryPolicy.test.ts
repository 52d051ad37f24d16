import { RetryPolicy } from "@aegispay/resilience"
import { assert, describe, it } from "@effect/vitest"
import {
  Chunk,
  Clock,
  ConfigProvider,
  Duration,
  Effect,
  Fiber,
  Option,
  Random,
  Ref,
  Schedule,
  TestClock
} from "effect"
import * as fc from "fast-check"

interface Failure {
  readonly _tag: "Retryable" | "HardDecline"
  readonly retryAfter?: Duration.Duration
}

/** Runs an always-failing effect under the policy; returns the times (ms) of each attempt. */
const attemptsUnder = (
  options: RetryPolicy.Options<Failure>,
  error: Failure,
  advance: Duration.DurationInput = "1 hour"
) =>
  Effect.gen(function* () {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const failing = Effect.flatMap(Clock.currentTimeMillis, (t) =>
      Ref.update(times, (ts) => [...ts, t])
    ).pipe(Effect.zipRight(Effect.fail(error)))
    const fiber = yield* Effect.fork(RetryPolicy.retry(options)(failing))
    yield* TestClock.adjust(advance)
    yield* Fiber.await(fiber)
    return yield* Ref.get(times)
  })

const gaps = (ts: ReadonlyArray<number>) => ts.slice(1).map((t, i) => t - ts[i]!)
const retryable: Failure = { _tag: "Retryable" }

describe("RetryPolicy", () => {
  it.effect("delays grow by the multiplier and stay under the cap", () =>
    Effect.gen(function* () {
      const ts = yield* attemptsUnder(
        { initialDelay: "100 millis", multiplier: 2, maxDelay: "500 millis", jitter: 0, maxAttempts: 6 },
        retryable
      )
      assert.strictEqual(ts.length, 6)
      assert.deepStrictEqual(gaps(ts), [100, 200, 400, 500, 500])
    })
  )

  it.effect("non-retryable errors are not retried", () =>
    Effect.gen(function* () {
      const ts = yield* attemptsUnder(
        { maxAttempts: 5, jitter: 0, retryable: (e) => e._tag === "Retryable" },
        { _tag: "HardDecline" }
      )
      assert.strictEqual(ts.length, 1)
    })
  )

  it.effect("Retry-After is a lower bound on the next delay", () =>
    Effect.gen(function* () {
      const ts = yield* attemptsUnder(
        {
          initialDelay: "100 millis",
          jitter: 0,
          maxAttempts: 3,
          retryAfter: (e) => Option.fromNullable(e.retryAfter)
        },
        { _tag: "Retryable", retryAfter: Duration.seconds(3) }
      )
      assert.deepStrictEqual(gaps(ts), [3000, 3000])
    })
  )

  it.effect("the deadline ends retries", () =>
    Effect.gen(function* () {
      const ts = yield* attemptsUnder(
        { initialDelay: "100 millis", multiplier: 1, jitter: 0, maxAttempts: 1000, deadline: "1 second" },
        retryable
      )
      assert.isAtMost(ts[ts.length - 1]!, 1100)
      assert.isAtLeast(ts.length, 9)
      assert.isBelow(ts.length, 13)
    })
  )

  it.effect("jitter stays in its band (1,000 random policies and seeds)", () =>
    Effect.gen(function* () {
      const cases = fc.sample(
        fc.tuple(
          fc.integer({ min: 1, max: 1000 }),
          fc.double({ min: 0, max: 0.9, noNaN: true }),
          fc.integer()
        ),
        { numRuns: 1000, seed: 42 }
      )
      for (const [initial, jitter, seed] of cases) {
        const policy = RetryPolicy.make<Failure>({
          initialDelay: Duration.millis(initial),
          multiplier: 1.5,
          maxDelay: "1 hour",
          jitter,
          maxAttempts: 5
        })
        // step the schedule without sleeping: its delays for four consecutive failures
        const delays = yield* Schedule.run(Schedule.delays(policy), 0, [
          retryable,
          retryable,
          retryable,
          retryable
        ]).pipe(Effect.withRandom(Random.make(seed)))
        Chunk.toReadonlyArray(delays).forEach((delay, i) => {
          const base = initial * 1.5 ** i
          const gap = Duration.toMillis(delay)
          assert.isAtLeast(gap, base * (1 - jitter) - 1e-6)
          assert.isAtMost(gap, base * (1 + jitter) + 1e-6)
        })
      }
    })
  )

  it.effect("reads its settings from Config", () =>
    Effect.gen(function* () {
      const provider = ConfigProvider.fromMap(
        new Map([
          ["INITIAL_DELAY", "250 millis"],
          ["MAX_ATTEMPTS", "4"],
          ["JITTER", "0"]
        ])
      )
      const options = yield* Effect.withConfigProvider(RetryPolicy.config, provider)
      assert.strictEqual(Duration.toMillis(Duration.decode(options.initialDelay!)), 250)
      assert.strictEqual(options.maxAttempts, 4)
      const bad = yield* Effect.flip(
        Effect.withConfigProvider(RetryPolicy.config, ConfigProvider.fromMap(new Map([["JITTER", "2"]])))
      )
      assert.include(String(bad), "JITTER must be in [0, 1]")
    })
  )
})
