/**
 * An interrupted call (a caller's timeout, a client gone) is neither a success nor a failure: it
 * is not counted and only gives back what it held, a HALF_OPEN trial slot. One interrupted trial
 * must not wedge a gateway's breaker.
 */
import { assert, describe, it } from "@effect/vitest"
import { CircuitBreaker } from "@aegispay/resilience"
import { Deferred, Duration, Effect, Either, Exit, Fiber, TestClock } from "effect"
import * as fc from "fast-check"

const boom = Effect.fail("boom")
const ok = Effect.succeed("ok")
const run = <A, E>(breaker: CircuitBreaker.Service, effect: Effect.Effect<A, E>) =>
  Effect.either(breaker.protect("psp")(effect))
const isOpen = <A, E>(r: Either.Either<A, E | CircuitBreaker.CircuitOpen>) =>
  Either.isLeft(r) && (r.left as { _tag?: string })._tag === "CircuitOpen"

/** The figures a caller sees, without the forced flag. */
const figures = (s: CircuitBreaker.Snapshot) => {
  const { forced: _forced, ...rest } = s
  return rest
}

/** Starts a protected call that runs until interrupted; returns its fiber once it runs (or was refused). */
const startForever = (breaker: CircuitBreaker.Service) =>
  Effect.gen(function* () {
    const running = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(
      breaker.protect("psp")(Effect.zipRight(Deferred.succeed(running, undefined), Effect.never))
    )
    yield* Effect.raceFirst(Deferred.await(running), Effect.asVoid(Fiber.await(fiber)))
    return { fiber, admitted: yield* Deferred.isDone(running) }
  })

describe("CircuitBreaker interruption", () => {
  for (const slowCall of [undefined, "10 seconds"] as const) {
    const timed = slowCall === undefined ? "" : " (slow-call threshold)"

    it.scoped(`an interrupted HALF_OPEN trial frees its slot: the next call is a trial${timed}`, () =>
      Effect.gen(function* () {
        const breaker = yield* CircuitBreaker.make({
          consecutiveFailures: 1,
          openTimeout: "5 seconds",
          halfOpenMaxCalls: 1,
          successThreshold: 2,
          ...(slowCall === undefined ? {} : { slowCall })
        })
        yield* run(breaker, boom)
        yield* TestClock.adjust("5 seconds")
        const trial = yield* startForever(breaker)
        assert.isTrue(trial.admitted, "the first trial runs")
        assert.isTrue(isOpen(yield* run(breaker, ok)), "its slot is taken while it runs")
        yield* Fiber.interrupt(trial.fiber)
        assert.isTrue(Exit.isInterrupted(yield* Fiber.await(trial.fiber)))
        assert.strictEqual(yield* breaker.state("psp"), "half_open", "neither a success nor a failure")
        const s = yield* breaker.snapshot("psp")
        assert.deepStrictEqual(
          [s.succeeded, s.failed, s.ignored],
          [0, 1, 0],
          "the interruption is not counted"
        )

        assert.isTrue(Either.isRight(yield* run(breaker, ok)), "the next call is admitted as a trial")
        assert.strictEqual(yield* breaker.state("psp"), "half_open", "1 of 2 successes")
        assert.isTrue(Either.isRight(yield* run(breaker, ok)))
        assert.strictEqual(yield* breaker.state("psp"), "closed", "the configured successes close it")
      })
    )

    it.scoped(`an interrupted trial does not wedge the breaker an hour later${timed}`, () =>
      Effect.gen(function* () {
        const breaker = yield* CircuitBreaker.make({
          consecutiveFailures: 1,
          openTimeout: "5 seconds",
          halfOpenMaxCalls: 1,
          ...(slowCall === undefined ? {} : { slowCall })
        })
        yield* run(breaker, boom)
        yield* TestClock.adjust("5 seconds")
        const trial = yield* startForever(breaker)
        yield* Fiber.interrupt(trial.fiber)
        yield* TestClock.adjust("1 hour")
        assert.isTrue(Either.isRight(yield* run(breaker, ok)))
        assert.strictEqual(yield* breaker.state("psp"), "closed")
      })
    )

    it.scoped(`an interrupted call in CLOSED changes neither counters nor state${timed}`, () =>
      Effect.gen(function* () {
        const breaker = yield* CircuitBreaker.make({
          consecutiveFailures: 2,
          failureRate: 0.5,
          window: { calls: 4 },
          minimumCalls: 2,
          ...(slowCall === undefined ? {} : { slowCall })
        })
        yield* run(breaker, boom)
        const before = figures(yield* breaker.snapshot("psp"))
        assert.deepStrictEqual([before.windowCalls, before.consecutiveFailures], [1, 1])

        // interrupted from outside, and interrupting itself
        const call = yield* startForever(breaker)
        assert.isTrue(call.admitted)
        yield* Fiber.interrupt(call.fiber)
        const self = yield* Effect.exit(breaker.protect("psp")(Effect.interrupt))
        assert.isTrue(Exit.isInterrupted(self))
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual(figures(yield* breaker.snapshot("psp")), before, "nothing moved")

        // the window and the run of failures are as they were: one more failure opens it
        yield* run(breaker, boom)
        assert.strictEqual(yield* breaker.state("psp"), "open")
      })
    )
  }

  it.scoped("a trial of an earlier HALF_OPEN period, interrupted in a later one, frees no slot of it", () =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({
        consecutiveFailures: 1,
        openTimeout: "5 seconds",
        halfOpenMaxCalls: 2,
        successThreshold: 3
      })
      yield* run(breaker, boom)
      yield* TestClock.adjust("5 seconds")
      const stale = yield* startForever(breaker)
      assert.isTrue(stale.admitted)
      yield* run(breaker, boom) // the second trial fails: OPEN again
      yield* TestClock.adjust("5 seconds")
      const a = yield* startForever(breaker)
      const b = yield* startForever(breaker)
      assert.isTrue(a.admitted && b.admitted, "a new period: two fresh slots")
      yield* Fiber.interrupt(stale.fiber)
      const c = yield* startForever(breaker)
      assert.isFalse(c.admitted, "the stale trial held no slot of this period")
      yield* Fiber.interrupt(a.fiber)
      const d = yield* startForever(breaker)
      assert.isTrue(d.admitted, "a's slot is free again")
      yield* Fiber.interrupt(b.fiber)
      yield* Fiber.interrupt(d.fiber)
    })
  )
})

type Step =
  | { readonly _tag: "Start" }
  | { readonly _tag: "Wait"; readonly ms: number }
  | { readonly _tag: "Finish"; readonly index: number; readonly how: "ok" | "boom" | "ignored" | "interrupt" }

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.constant({ _tag: "Start" as const }), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 1500 }).map((ms) => ({ _tag: "Wait" as const, ms })), weight: 1 },
  {
    arbitrary: fc
      .record({
        index: fc.nat(),
        how: fc.constantFrom<"ok" | "boom" | "ignored" | "interrupt">(
          "ok",
          "boom",
          "ignored",
          "interrupt",
          "interrupt"
        )
      })
      .map((r) => ({ _tag: "Finish" as const, ...r })),
    weight: 3
  }
)

describe("CircuitBreaker interruption (property)", () => {
  it.effect.prop(
    "any interleaving of success, failure, ignored error and interruption admits exactly the trials a model allows, and a trial is always possible again",
    [
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom(undefined, Duration.seconds(10)),
      fc.array(step, { maxLength: 40 })
    ],
    ([halfOpenMaxCalls, successThreshold, slowCall, steps]) =>
      Effect.scoped(
        Effect.gen(function* () {
          const openMillis = 1000
          const breaker = yield* CircuitBreaker.make({
            consecutiveFailures: 1,
            failureRate: 1,
            openTimeout: Duration.millis(openMillis),
            halfOpenMaxCalls,
            successThreshold,
            isIgnored: (e) => e === "ignored",
            ...(slowCall === undefined ? {} : { slowCall })
          })
          // the model: the state, and for each running call the HALF_OPEN period that gave it a slot
          type Model =
            | { readonly _tag: "Closed" }
            | { readonly _tag: "Open"; readonly until: number }
            | { readonly _tag: "HalfOpen"; readonly period: number; readonly successes: number }
          let now = 0
          let periods = 0
          let model: Model = { _tag: "Closed" }
          const running: Array<{
            readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
            readonly release: Deferred.Deferred<"ok" | "boom" | "ignored">
            readonly period: number | undefined
          }> = []
          const slots = () =>
            model._tag === "HalfOpen"
              ? running.filter((r) => r.period === (model as { period: number }).period).length
              : 0

          // start half-open
          yield* run(breaker, boom)
          model = { _tag: "Open", until: openMillis }

          const start = Effect.gen(function* () {
            if (model._tag === "Open" && now >= model.until)
              model = { _tag: "HalfOpen", period: ++periods, successes: 0 }
            const expected =
              model._tag === "Closed" || (model._tag === "HalfOpen" && slots() < halfOpenMaxCalls)
            const release = yield* Deferred.make<"ok" | "boom" | "ignored">()
            const began = yield* Deferred.make<void>()
            const fiber = yield* Effect.fork(
              breaker.protect("psp")(
                Effect.zipRight(
                  Deferred.succeed(began, undefined),
                  Effect.flatMap(Deferred.await(release), (how) =>
                    how === "ok" ? Effect.succeed(how) : Effect.fail(how)
                  )
                )
              )
            )
            yield* Effect.raceFirst(Deferred.await(began), Effect.asVoid(Fiber.await(fiber)))
            const admitted = yield* Deferred.isDone(began)
            assert.strictEqual(admitted, expected, `admission in ${model._tag}`)
            if (admitted)
              running.push({
                fiber,
                release,
                period: model._tag === "HalfOpen" ? model.period : undefined
              })
            assert.isAtMost(slots(), halfOpenMaxCalls)
          })

          for (const s of steps) {
            if (s._tag === "Start") yield* start
            else if (s._tag === "Wait") {
              now += s.ms
              yield* TestClock.adjust(Duration.millis(s.ms))
            } else if (running.length > 0) {
              const [call] = running.splice(s.index % running.length, 1)
              if (s.how === "interrupt") yield* Fiber.interrupt(call!.fiber)
              else {
                yield* Deferred.succeed(call!.release, s.how)
                yield* Fiber.await(call!.fiber)
              }
              const current = model as Model
              const trialOfThisPeriod = current._tag === "HalfOpen" && call!.period === current.period
              const closedCall = call!.period === undefined
              if (s.how === "boom" && (trialOfThisPeriod || (closedCall && current._tag === "Closed")))
                model = { _tag: "Open", until: now + openMillis }
              else if (s.how === "ok" && trialOfThisPeriod && current._tag === "HalfOpen")
                model =
                  current.successes + 1 >= successThreshold
                    ? { _tag: "Closed" }
                    : { _tag: "HalfOpen", period: current.period, successes: current.successes + 1 }
            }
            const seen =
              model._tag === "Closed"
                ? "closed"
                : model._tag === "HalfOpen" || now >= model.until
                  ? "half_open"
                  : "open"
            assert.strictEqual(yield* breaker.state("psp"), seen)
          }

          // liveness: once every call has ended, however it ended, and the timeout has passed, a call runs
          for (const call of running) yield* Fiber.interrupt(call.fiber)
          yield* TestClock.adjust(Duration.millis(openMillis))
          assert.isTrue(Either.isRight(yield* run(breaker, ok)), "a call is admitted again")
        })
      ),
    { fastCheck: { numRuns: 300 } }
  )
})
