import { assert, describe, it } from "@effect/vitest"
import { CircuitBreaker } from "@aegispay/resilience"
import { Chunk, Effect, Either, Fiber, Ref, Stream, TestClock } from "effect"
import * as fc from "fast-check"
import * as Machine from "../src/internal/breakerState.js"

const boom = Effect.fail({ _tag: "Unavailable" as const })
const ok = Effect.succeed("ok")
const run = <A, E>(breaker: CircuitBreaker.Service, effect: Effect.Effect<A, E>) =>
  Effect.either(breaker.protect("psp")(effect))

describe("CircuitBreaker transitions (TestClock)", () => {
  it.scoped("CLOSED → OPEN after consecutive failures; OPEN rejects without calling", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({
        consecutiveFailures: 3,
        failureRate: 1,
        openTimeout: "10 seconds"
      })
      for (let i = 0; i < 3; i++) yield* run(breaker, boom)
      assert.strictEqual(yield* breaker.state("psp"), "open")
      const called = yield* Ref.make(0)
      const r = yield* run(
        breaker,
        Ref.update(called, (n) => n + 1)
      )
      assert.isTrue(Either.isLeft(r) && r.left._tag === "CircuitOpen")
      if (Either.isLeft(r) && r.left._tag === "CircuitOpen")
        assert.strictEqual(r.left.retryAfterMillis, 10_000)
      assert.strictEqual(yield* Ref.get(called), 0)
      assert.strictEqual(yield* breaker.state("other"), "closed", "breakers are per key")
    })
  )

  it.scoped("OPEN → HALF_OPEN after the timeout; trials close it, or a failed trial opens it again", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({
        consecutiveFailures: 1,
        openTimeout: "5 seconds",
        successThreshold: 2,
        halfOpenMaxCalls: 1
      })
      yield* run(breaker, boom)
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(yield* breaker.state("psp"), "open")
      assert.isTrue(Either.isLeft(yield* run(breaker, ok)), "still open 1 ms before the timeout")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(
        yield* breaker.state("psp"),
        "half_open",
        "past the timeout it reads half-open before any call, so a router tries it again"
      )
      assert.isTrue(Either.isRight(yield* run(breaker, ok)))
      assert.strictEqual(yield* breaker.state("psp"), "half_open")
      assert.isTrue(Either.isRight(yield* run(breaker, ok)))
      assert.strictEqual(yield* breaker.state("psp"), "closed")

      yield* run(breaker, boom)
      yield* TestClock.adjust("5 seconds")
      yield* run(breaker, boom)
      assert.strictEqual(yield* breaker.state("psp"), "open", "a failed trial opens it again")
    })
  )

  it.scoped("failure rate over a count window, only after the minimum number of calls", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({
        consecutiveFailures: 0,
        failureRate: 0.5,
        window: { calls: 10 },
        minimumCalls: 4
      })
      yield* run(breaker, ok)
      yield* run(breaker, boom)
      yield* run(breaker, ok)
      assert.strictEqual(yield* breaker.state("psp"), "closed", "3 calls: below the minimum")
      yield* run(breaker, boom)
      assert.strictEqual(yield* breaker.state("psp"), "open", "2 of 4 failed")
    })
  )

  it.scoped("failure rate over a time window forgets old calls", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({
        consecutiveFailures: 0,
        failureRate: 0.5,
        window: { duration: "10 seconds" },
        minimumCalls: 3
      })
      yield* run(breaker, boom)
      yield* run(breaker, boom)
      yield* TestClock.adjust("11 seconds")
      yield* run(breaker, ok)
      yield* run(breaker, ok)
      yield* run(breaker, boom)
      assert.strictEqual(yield* breaker.state("psp"), "closed", "1 of 3 recent calls failed")
      const snap = yield* breaker.snapshot("psp")
      assert.deepStrictEqual([snap.windowCalls, snap.windowFailures], [3, 1])
    })
  )

  it.scoped("slow calls count as failures", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({ consecutiveFailures: 2, slowCall: "100 millis" })
      for (let i = 0; i < 2; i++) {
        const fiber = yield* Effect.fork(run(breaker, Effect.as(Effect.sleep("200 millis"), "late")))
        yield* TestClock.adjust("200 millis")
        assert.isTrue(Either.isRight(yield* Fiber.join(fiber)), "the caller still gets its result")
      }
      assert.strictEqual(yield* breaker.state("psp"), "open")
    })
  )

  it.scoped("ignored errors never trip it", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({
        consecutiveFailures: 2,
        isIgnored: (e) => (e as { _tag?: string })._tag === "HardDecline"
      })
      for (let i = 0; i < 20; i++) yield* run(breaker, Effect.fail({ _tag: "HardDecline" as const }))
      assert.strictEqual(yield* breaker.state("psp"), "closed")
    })
  )

  it.scoped("half-open admits at most the configured number of concurrent trials", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({
        consecutiveFailures: 1,
        openTimeout: "1 second",
        halfOpenMaxCalls: 2
      })
      yield* run(breaker, boom)
      yield* TestClock.adjust("1 second")
      const fibers = yield* Effect.forEach(Array.from({ length: 5 }), () =>
        Effect.fork(run(breaker, Effect.sleep("1 second")))
      )
      yield* TestClock.adjust("1 second")
      const results = yield* Effect.forEach(fibers, Fiber.join)
      assert.strictEqual(results.filter(Either.isRight).length, 2)
      assert.strictEqual(results.filter(Either.isLeft).length, 3)
    })
  )

  it.scoped("an operator can force it open or closed, and reset it; changes are streamed", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({ consecutiveFailures: 1 })
      const stream = yield* breaker.changes
      const changes = yield* Effect.fork(Stream.runCollect(Stream.take(stream, 3)))
      yield* breaker.forceOpen("psp")
      assert.isTrue(Either.isLeft(yield* run(breaker, ok)))
      yield* breaker.forceClosed("psp")
      for (let i = 0; i < 5; i++) yield* run(breaker, boom)
      assert.strictEqual(yield* breaker.state("psp"), "closed", "forced closed stays closed")
      yield* breaker.reset("psp")
      yield* run(breaker, boom)
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(changes)).map((c) => `${c.from}→${c.to}`)
      assert.deepStrictEqual(seen, ["closed→open", "open→closed", "closed→open"])
    })
  )
})

const config = fc.record({
  consecutiveFailures: fc.integer({ min: 0, max: 5 }),
  failureRate: fc.constantFrom(0.25, 0.5, 1),
  window: fc.oneof(
    fc.integer({ min: 1, max: 10 }).map((size) => ({ _tag: "Count" as const, size })),
    fc.integer({ min: 100, max: 5000 }).map((millis) => ({ _tag: "Time" as const, millis }))
  ),
  minimumCalls: fc.integer({ min: 1, max: 5 }),
  slowCallMillis: fc.constant(Number.POSITIVE_INFINITY),
  openMillis: fc.integer({ min: 1, max: 5000 }),
  halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
  successThreshold: fc.integer({ min: 1, max: 3 })
})
type Op =
  | { readonly _tag: "Wait"; readonly ms: number }
  | { readonly _tag: "Start" }
  | { readonly _tag: "Finish"; readonly index: number; readonly outcome: Machine.Outcome }
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: 0, max: 3000 }).map((ms) => ({ _tag: "Wait" as const, ms })),
  fc.constant({ _tag: "Start" as const }),
  fc
    .record({ index: fc.nat(), outcome: fc.constantFrom<Machine.Outcome>("success", "failure", "ignored") })
    .map((r) => ({ _tag: "Finish" as const, ...r }))
)

/** Drives the pure machine with calls that start and finish in any interleaving. */
const simulate = (
  cfg: Machine.Config,
  ops: ReadonlyArray<Op>,
  onStep: (state: Machine.State, inFlightTrials: number) => void,
  outcomes?: ReadonlyArray<Machine.Outcome>
) => {
  let state = Machine.closed
  let now = 0
  const running: Array<boolean> = []
  for (const o of ops) {
    if (o._tag === "Wait") now += o.ms
    else if (o._tag === "Start") {
      const [d, next] = Machine.admit(state, now, cfg)
      state = next
      if (d._tag === "Admit") running.push(d.trial)
    } else if (running.length > 0) {
      const [trial] = running.splice(o.index % running.length, 1)
      state = Machine.record(
        state,
        outcomes ? outcomes[o.index % outcomes.length]! : o.outcome,
        trial!,
        now,
        cfg
      )
    }
    onStep(state, running.filter((t) => t).length)
  }
}

describe("CircuitBreaker laws (pure machine)", () => {
  it.prop(
    "in OPEN no call passes before the timeout",
    [config, fc.array(op, { maxLength: 80 })],
    ([cfg, ops]) => {
      let state = Machine.closed
      let now = 0
      const running: Array<boolean> = []
      for (const o of ops) {
        if (o._tag === "Wait") now += o.ms
        else if (o._tag === "Start") {
          const [d, next] = Machine.admit(state, now, cfg)
          if (state._tag === "Open" && now < state.until)
            assert.strictEqual(d._tag, "Reject", "admitted while open")
          state = next
          if (d._tag === "Admit") running.push(d.trial)
        } else if (running.length > 0) {
          const [trial] = running.splice(o.index % running.length, 1)
          state = Machine.record(state, o.outcome, trial!, now, cfg)
        }
      }
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "in HALF_OPEN never more concurrent trials than allowed",
    [config, fc.array(op, { maxLength: 80 })],
    ([cfg, ops]) => {
      simulate(cfg, ops, (_state, trials) => assert.isAtMost(trials, cfg.halfOpenMaxCalls))
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "a breaker never trips on ignored errors",
    [config, fc.array(op, { maxLength: 80 })],
    ([cfg, ops]) => {
      simulate(cfg, ops, (state) => assert.strictEqual(state._tag, "Closed"), ["success", "ignored"])
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
