/**
 * The breaker's hot path (a closed breaker records a success without reading the clock or
 * allocating a new state) must behave exactly as the straightforward machine: here the machine of
 * `src/internal/breakerState.ts` is checked against a plain reference copy of its rules, and the
 * service against that reference driven with the same calls, times and operator actions.
 */
import { assert, describe, it } from "@effect/vitest"
import { CircuitBreaker } from "@aegispay/resilience"
import { Duration, Effect, Either, Option, Stream, TestClock } from "effect"
import * as fc from "fast-check"
import * as Machine from "../src/internal/breakerState.js"

/** The rules as first written: every record rebuilds and trims the window and counts its failures. */
namespace Reference {
  export type State =
    | { readonly _tag: "Closed"; readonly calls: ReadonlyArray<Machine.Call>; readonly consecutive: number }
    | { readonly _tag: "Open"; readonly openedAt: number; readonly until: number }
    | { readonly _tag: "HalfOpen"; readonly inFlight: number; readonly successes: number }

  export const closed: State = { _tag: "Closed", calls: [], consecutive: 0 }

  const trim = (calls: ReadonlyArray<Machine.Call>, now: number, config: Machine.Config) =>
    config.window._tag === "Count"
      ? calls.slice(Math.max(0, calls.length - config.window.size))
      : calls.filter((c) => c.at > now - (config.window as { millis: number }).millis)

  const open = (now: number, config: Machine.Config): State => ({
    _tag: "Open",
    openedAt: now,
    until: now + config.openMillis
  })

  export const admit = (
    state: State,
    now: number,
    config: Machine.Config
  ): readonly [Machine.Decision, State] => {
    switch (state._tag) {
      case "Closed":
        return [{ _tag: "Admit", trial: false }, state]
      case "Open":
        if (now < state.until) return [{ _tag: "Reject", retryAfterMillis: state.until - now }, state]
        return admit({ _tag: "HalfOpen", inFlight: 0, successes: 0 }, now, config)
      case "HalfOpen":
        return state.inFlight < config.halfOpenMaxCalls
          ? [
              { _tag: "Admit", trial: true },
              { ...state, inFlight: state.inFlight + 1 }
            ]
          : [{ _tag: "Reject", retryAfterMillis: 0 }, state]
    }
  }

  export const record = (
    state: State,
    outcome: Machine.Outcome,
    trial: boolean,
    now: number,
    config: Machine.Config
  ): State => {
    switch (state._tag) {
      case "Closed": {
        if (outcome === "ignored" || trial) return state
        const failed = outcome === "failure"
        const calls = trim([...state.calls, { at: now, failed }], now, config)
        const consecutive = failed ? state.consecutive + 1 : 0
        if (config.consecutiveFailures > 0 && consecutive >= config.consecutiveFailures)
          return open(now, config)
        if (calls.length >= Math.max(1, config.minimumCalls)) {
          const rate = calls.filter((c) => c.failed).length / calls.length
          if (config.failureRate < 1 && rate >= config.failureRate) return open(now, config)
        }
        return { _tag: "Closed", calls, consecutive }
      }
      case "Open":
        return state
      case "HalfOpen": {
        if (!trial) return state
        const inFlight = Math.max(0, state.inFlight - 1)
        if (outcome === "ignored") return { ...state, inFlight }
        if (outcome === "failure") return open(now, config)
        const successes = state.successes + 1
        return successes >= config.successThreshold ? closed : { _tag: "HalfOpen", inFlight, successes }
      }
    }
  }

  export const observe = (state: State, now: number): State =>
    state._tag === "Open" && now >= state.until ? { _tag: "HalfOpen", inFlight: 0, successes: 0 } : state

  /**
   * Everything a caller can see of a state: its tag, window (with the calls' times for a time
   * window: a count window never reads them) and timings.
   */
  export const view = (state: State | Machine.State, config: Machine.Config) => {
    if (state._tag === "Closed") {
      const calls = "log" in state ? Machine.calls(state) : state.calls
      return {
        _tag: state._tag,
        window: calls.map((c) => (config.window._tag === "Time" ? `${c.at}:${c.failed}` : `${c.failed}`)),
        calls: calls.length,
        failures: calls.filter((c) => c.failed).length,
        consecutive: state.consecutive
      }
    }
    return state._tag === "Open"
      ? { _tag: state._tag, openedAt: state.openedAt, until: state.until }
      : { _tag: state._tag, inFlight: state.inFlight, successes: state.successes }
  }
}

const config: fc.Arbitrary<Machine.Config> = fc.record({
  consecutiveFailures: fc.integer({ min: 0, max: 5 }),
  failureRate: fc.constantFrom(0, 0.25, 0.5, 1),
  window: fc.oneof(
    fc.integer({ min: 0, max: 10 }).map((size) => ({ _tag: "Count" as const, size })),
    fc.integer({ min: 100, max: 5000 }).map((millis) => ({ _tag: "Time" as const, millis }))
  ),
  minimumCalls: fc.integer({ min: 0, max: 5 }),
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
  // a negative wait sets the clock back
  {
    arbitrary: fc.integer({ min: -1000, max: 3000 }).map((ms) => ({ _tag: "Wait" as const, ms })),
    weight: 1
  },
  { arbitrary: fc.constant({ _tag: "Start" as const }), weight: 3 },
  {
    arbitrary: fc
      .record({
        index: fc.nat(),
        outcome: fc.constantFrom<Machine.Outcome>("success", "success", "success", "failure", "ignored")
      })
      .map((r) => ({ _tag: "Finish" as const, ...r })),
    weight: 3
  }
)

describe("CircuitBreaker hot path (pure machine)", () => {
  it.prop(
    "admit, record and observe agree with the reference rules in any interleaving",
    [config, fc.array(op, { maxLength: 120 })],
    ([cfg, ops]) => {
      let state = Machine.closed
      let reference = Reference.closed
      let now = 0
      const running: Array<boolean> = []
      for (const o of ops) {
        if (o._tag === "Wait") now += o.ms
        else if (o._tag === "Start") {
          const [d, next] = Machine.admit(state, now, cfg)
          const [rd, rnext] = Reference.admit(reference, now, cfg)
          assert.deepStrictEqual(d, rd)
          state = next
          reference = rnext
          if (d._tag === "Admit") running.push(d.trial)
        } else if (running.length > 0) {
          const [trial] = running.splice(o.index % running.length, 1)
          const unchanged = Machine.unchangedBy(state, o.outcome, trial!, cfg)
          const next = Machine.record(state, o.outcome, trial!, now, cfg)
          if (unchanged) assert.strictEqual(next, state, "an unchanged state is the same object")
          state = next
          reference = Reference.record(reference, o.outcome, trial!, now, cfg)
        }
        const expected = Reference.view(reference, cfg)
        assert.deepStrictEqual(Reference.view(state, cfg), expected)
        assert.deepStrictEqual(
          Machine.stats(state),
          "window" in expected
            ? { calls: expected.calls, failures: expected.failures, consecutive: expected.consecutive }
            : { calls: 0, failures: 0, consecutive: 0 }
        )
        assert.deepStrictEqual(
          Reference.view(Machine.observe(state, now), cfg),
          Reference.view(Reference.observe(reference, now), cfg)
        )
      }
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "states stay values: recording from any earlier state, over long runs, agrees with the reference",
    [
      config.map((c) => ({ ...c, consecutiveFailures: 0, failureRate: 1 })),
      fc.array(
        fc.record({
          from: fc.nat(),
          wait: fc.integer({ min: -50, max: 100 }),
          outcome: fc.constantFrom<Machine.Outcome>("success", "success", "failure", "ignored")
        }),
        { minLength: 100, maxLength: 400 }
      )
    ],
    ([cfg, steps]) => {
      // the rules never open, so every state is Closed and its window keeps growing and sliding
      const history: Array<readonly [Machine.State, Reference.State]> = [[Machine.closed, Reference.closed]]
      let now = 0
      for (const [i, step] of steps.entries()) {
        now += step.wait
        // mostly the latest state, as the service does, sometimes an older one
        const [state, reference] = history[i % 5 === 4 ? step.from % history.length : history.length - 1]!
        const next = Machine.record(state, step.outcome, false, now, cfg)
        const rnext = Reference.record(reference, step.outcome, false, now, cfg)
        assert.deepStrictEqual(Reference.view(next, cfg), Reference.view(rnext, cfg))
        history.push([next, rnext])
      }
      for (const [state, reference] of history)
        assert.deepStrictEqual(
          Reference.view(state, cfg),
          Reference.view(reference, cfg),
          "an older state is unchanged"
        )
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("a healthy count window records a success as the same state, with no time", () => {
    const cfg: Machine.Config = {
      consecutiveFailures: 5,
      failureRate: 0.5,
      window: { _tag: "Count", size: 3 },
      minimumCalls: 2,
      slowCallMillis: Number.POSITIVE_INFINITY,
      openMillis: 1000,
      halfOpenMaxCalls: 1,
      successThreshold: 1
    }
    let state = Machine.closed
    for (let i = 0; i < 3; i++) {
      assert.isFalse(Machine.unchangedBy(state, "success", false, cfg), "the window is still filling")
      state = Machine.record(state, "success", false, i, cfg)
    }
    assert.isTrue(Machine.unchangedBy(state, "success", false, cfg))
    assert.isFalse(Machine.unchangedBy(state, "failure", false, cfg))
    const failed = Machine.record(Machine.record(state, "failure", false, 3, cfg), "success", false, 4, cfg)
    assert.deepStrictEqual(Machine.stats(failed), { calls: 3, failures: 1, consecutive: 0 })
    assert.isFalse(Machine.unchangedBy(failed, "success", false, cfg), "a failure is still in the window")
    assert.isFalse(
      Machine.unchangedBy(state, "success", false, { ...cfg, failureRate: 0 }),
      "a 0 threshold opens on a clean window"
    )
    assert.isFalse(
      Machine.unchangedBy(state, "success", false, { ...cfg, window: { _tag: "Time", millis: 10 } }),
      "a time window needs the time of every call"
    )
  })
})

type Step =
  | { readonly _tag: "Call"; readonly outcome: "ok" | "boom" | "ignored" | "defect" }
  | { readonly _tag: "Wait"; readonly ms: number }
  | { readonly _tag: "Force"; readonly to: "open" | "closed" | "reset" }
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc
      .constantFrom("ok" as const, "boom" as const, "ignored" as const, "defect" as const)
      .map((outcome) => ({ _tag: "Call" as const, outcome })),
    weight: 8
  },
  // a negative wait sets the clock back
  {
    arbitrary: fc.integer({ min: -1000, max: 3000 }).map((ms) => ({ _tag: "Wait" as const, ms })),
    weight: 2
  },
  {
    arbitrary: fc.constantFrom("open" as const, "closed" as const, "reset" as const).map((to) => ({
      _tag: "Force" as const,
      to
    })),
    weight: 1
  }
)
const options = fc.record({
  consecutiveFailures: fc.integer({ min: 0, max: 4 }),
  failureRate: fc.constantFrom(0.25, 0.5, 1),
  window: fc.oneof(
    fc.integer({ min: 1, max: 6 }).map((calls) => ({ calls })),
    fc.integer({ min: 100, max: 4000 }).map((ms) => ({ duration: Duration.millis(ms) }))
  ),
  minimumCalls: fc.integer({ min: 1, max: 4 }),
  openTimeout: fc.integer({ min: 1, max: 4000 }).map(Duration.millis),
  halfOpenMaxCalls: fc.integer({ min: 1, max: 2 }),
  successThreshold: fc.integer({ min: 1, max: 2 }),
  slowCall: fc.constantFrom(undefined, Duration.seconds(10))
})

describe("CircuitBreaker hot path (service)", () => {
  it.effect.prop(
    "snapshots, refusals and state changes follow the reference rules, with and without a slow-call threshold",
    [options, fc.array(step, { maxLength: 60 })],
    ([opts, steps]) =>
      Effect.scoped(
        Effect.gen(function* () {
          const { slowCall, ...rest } = opts
          const breakerOptions: CircuitBreaker.Options = {
            ...rest,
            ...(slowCall === undefined ? {} : { slowCall }),
            isIgnored: (e) => e === "ignored"
          }
          const cfg = CircuitBreaker.toMachineConfig(breakerOptions)
          const breaker = yield* CircuitBreaker.make(breakerOptions)
          const changes: Array<string> = []
          yield* Effect.forkScoped(
            Stream.runForEach(yield* breaker.changes, (c) =>
              Effect.sync(() => changes.push(`${c.from}→${c.to}@${c.at}`))
            )
          )

          let now = 0
          let state = Reference.closed
          let forced: Option.Option<"open" | "closed"> = Option.none()
          const counts = { rejected: 0, succeeded: 0, failed: 0, ignored: 0 }
          const expectedChanges: Array<string> = []
          const name = (s: Reference.State) =>
            s._tag === "Closed" ? "closed" : s._tag === "Open" ? "open" : "half_open"
          const seen = () => (Option.isSome(forced) ? forced.value : name(Reference.observe(state, now)))
          const move = (before: Reference.State, after: Reference.State) => {
            if (name(before) !== name(after)) expectedChanges.push(`${name(before)}→${name(after)}@${now}`)
          }

          for (const s of steps) {
            if (s._tag === "Wait") {
              now = Math.max(0, now + s.ms)
              yield* TestClock.setTime(now)
            } else if (s._tag === "Force") {
              const before = seen()
              forced = s.to === "reset" ? Option.none() : Option.some(s.to)
              state = Reference.closed
              Object.assign(counts, { rejected: 0, succeeded: 0, failed: 0, ignored: 0 })
              if (before !== seen()) expectedChanges.push(`${before}→${seen()}@${now}`)
              yield* s.to === "open"
                ? breaker.forceOpen("psp")
                : s.to === "closed"
                  ? breaker.forceClosed("psp")
                  : breaker.reset("psp")
            } else {
              const call =
                s.outcome === "ok"
                  ? Effect.succeed(1)
                  : s.outcome === "boom"
                    ? Effect.fail("boom")
                    : s.outcome === "ignored"
                      ? Effect.fail("ignored")
                      : Effect.die("defect")
              const result = yield* Effect.either(
                Effect.catchAllDefect(breaker.protect("psp")(call), () => Effect.fail("died"))
              )
              // the reference
              let admitted: boolean
              let trial = false
              if (Option.isSome(forced)) {
                admitted = forced.value === "closed"
                if (!admitted) counts.rejected++
              } else {
                const [d, next] = Reference.admit(state, now, cfg)
                move(state, next)
                state = next
                admitted = d._tag === "Admit"
                if (d._tag === "Admit") trial = d.trial
                else counts.rejected++
              }
              if (admitted) {
                const outcome: Machine.Outcome =
                  s.outcome === "ok" ? "success" : s.outcome === "ignored" ? "ignored" : "failure"
                counts[outcome === "success" ? "succeeded" : outcome === "failure" ? "failed" : "ignored"]++
                if (Option.isNone(forced)) {
                  const next = Reference.record(state, outcome, trial, now, cfg)
                  move(state, next)
                  state = next
                }
                assert.deepStrictEqual(
                  result,
                  s.outcome === "ok"
                    ? Either.right(1)
                    : Either.left(
                        s.outcome === "boom" ? "boom" : s.outcome === "ignored" ? "ignored" : "died"
                      )
                )
              } else {
                assert.isTrue(
                  Either.isLeft(result) && (result.left as { _tag?: string })._tag === "CircuitOpen"
                )
              }
            }
            const snap = yield* breaker.snapshot("psp")
            const view = state._tag === "Closed" ? Reference.view(state, cfg) : undefined
            assert.deepStrictEqual(
              {
                state: snap.state,
                forced: snap.forced,
                windowCalls: snap.windowCalls,
                windowFailures: snap.windowFailures,
                consecutiveFailures: snap.consecutiveFailures,
                rejected: snap.rejected,
                succeeded: snap.succeeded,
                failed: snap.failed,
                ignored: snap.ignored
              },
              {
                state: seen(),
                forced,
                windowCalls: view?.calls ?? 0,
                windowFailures: view?.failures ?? 0,
                consecutiveFailures: view?.consecutive ?? 0,
                ...counts
              }
            )
          }
          yield* Effect.repeatN(Effect.yieldNow(), 20)
          assert.deepStrictEqual(changes, expectedChanges)
        })
      ),
    { fastCheck: { numRuns: 300 } }
  )
})
