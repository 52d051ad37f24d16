/**
 * A circuit breaker per key (one per gateway): CLOSED → OPEN on consecutive failures or on a
 * failure rate over a count- or time-based window (with a minimum number of calls; slow calls count
 * as failures); OPEN → HALF_OPEN after the open timeout; HALF_OPEN admits a limited number of trial
 * calls and closes after enough successes, or opens again on a failure. Errors the caller marks as
 * ignored (a card decline is the customer's problem, not the PSP's) never move it. An operator may
 * force a key open or closed. Time comes from `Clock`, so `TestClock` drives every rule.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Exit,
  Layer,
  Metric,
  Option,
  PubSub,
  Schema,
  type Scope,
  Stream
} from "effect"
import * as Machine from "./internal/breakerState.js"

/**
 * @since 0.1.0
 * @category models
 */
export type CircuitState = "closed" | "open" | "half_open"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Consecutive failures that open the circuit; 0 disables (default 5). */
  readonly consecutiveFailures?: number
  /** Failure rate in [0, 1] that opens the circuit; 1 disables (default 0.5). */
  readonly failureRate?: number
  /** The sliding window for the rate: the last N calls, or the calls of the last T (default 20 calls). */
  readonly window?: { readonly calls: number } | { readonly duration: Duration.DurationInput }
  /** Calls in the window before the rate applies (default 10). */
  readonly minimumCalls?: number
  /** Successful calls slower than this count as failures (default: none). */
  readonly slowCall?: Duration.DurationInput
  /** Time in OPEN before trial calls (default 30 s). */
  readonly openTimeout?: Duration.DurationInput
  /** Trial calls at once in HALF_OPEN (default 1). */
  readonly halfOpenMaxCalls?: number
  /** Successful trials that close the circuit (default 1). */
  readonly successThreshold?: number
  /** Errors that must not count as failures (default: none ignored). */
  readonly isIgnored?: (error: unknown) => boolean
}

/**
 * The call was not made: the circuit for `key` is open (or half-open with all trials in flight).
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>("@aegispay/resilience/CircuitOpen")(
  "CircuitOpen",
  {
    key: Schema.String,
    retryAfterMillis: Schema.Number
  }
) {
  override get message(): string {
    return `circuit for ${this.key} is open; retry after ${Math.ceil(this.retryAfterMillis)} ms`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StateChange {
  readonly key: string
  readonly from: CircuitState
  readonly to: CircuitState
  readonly at: number
  readonly reason: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly key: string
  readonly state: CircuitState
  readonly forced: Option.Option<"open" | "closed">
  readonly windowCalls: number
  readonly windowFailures: number
  readonly consecutiveFailures: number
  /** Totals since the key was created or reset: calls refused, and admitted calls by outcome. */
  readonly rejected: number
  readonly succeeded: number
  readonly failed: number
  readonly ignored: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs `effect` through the breaker of `key`. */
  readonly protect: (
    key: string
  ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  readonly state: (key: string) => Effect.Effect<CircuitState>
  readonly snapshot: (key: string) => Effect.Effect<Snapshot>
  /** Subscribes to every state change of every key (from now on, for the life of the scope). */
  readonly changes: Effect.Effect<Stream.Stream<StateChange>, never, Scope.Scope>
  readonly forceOpen: (key: string) => Effect.Effect<void>
  readonly forceClosed: (key: string) => Effect.Effect<void>
  /** Clears a forced state and resets the key to CLOSED. */
  readonly reset: (key: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class CircuitBreaker extends Context.Tag("@aegispay/resilience/CircuitBreaker")<
  CircuitBreaker,
  Service
>() {}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  consecutiveFailures: 5,
  failureRate: 0.5,
  window: { calls: 20 },
  minimumCalls: 10,
  openTimeout: "30 seconds",
  halfOpenMaxCalls: 1,
  successThreshold: 1
} as const satisfies Options

/** @internal */
export const toMachineConfig = (options: Options): Machine.Config => {
  const o = { ...defaults, ...options }
  return {
    consecutiveFailures: o.consecutiveFailures,
    failureRate: o.failureRate,
    window:
      "calls" in o.window
        ? { _tag: "Count", size: o.window.calls }
        : { _tag: "Time", millis: Duration.toMillis(Duration.decode(o.window.duration)) },
    minimumCalls: o.minimumCalls,
    slowCallMillis:
      options.slowCall === undefined
        ? Number.POSITIVE_INFINITY
        : Duration.toMillis(Duration.decode(options.slowCall)),
    openMillis: Duration.toMillis(Duration.decode(o.openTimeout)),
    halfOpenMaxCalls: o.halfOpenMaxCalls,
    successThreshold: o.successThreshold
  }
}

const stateName = (s: Machine.State): CircuitState =>
  s._tag === "Closed" ? "closed" : s._tag === "Open" ? "open" : "half_open"

/**
 * The mutable cell of one key. It is read and written only inside synchronous steps of an effect
 * (`Effect.suspend`, `Effect.sync`, a continuation), which JavaScript never interleaves, so each
 * step is as atomic as a `Ref.modify` and costs no allocation on the hot path.
 */
interface Entry {
  state: Machine.State
  forced: Option.Option<"open" | "closed">
  rejected: number
  success: number
  failure: number
  ignored: number
  /** Derived from `state` and `forced` by `settle` after every change of either (the hot path's two tests). */
  admitsUntimed: boolean
  keepsOnSuccess: boolean
  /**
   * Counts the HALF_OPEN periods (never reset): a trial records its outcome only in the period that
   * admitted it, so a trial of an earlier period neither frees a slot of a later one nor counts there.
   */
  period: number
}

const stateGauge = Metric.gauge("resilience_breaker_state", {
  description: "Breaker state by key: 0 closed, 1 half-open, 2 open"
})
const gaugeValue = (s: CircuitState) => (s === "closed" ? 0 : s === "half_open" ? 1 : 2)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const config = toMachineConfig(options)
    const isIgnored = options.isIgnored ?? (() => false)
    // without a slow-call threshold an admitted call needs no start time
    const timesCalls = config.slowCallMillis !== Number.POSITIVE_INFINITY
    // one cell per key, found through a map owned by this service instance (created on first use)
    const cells = new Map<string, Entry>()
    /** Whether a call is admitted with no decision (so no time), and whether its success changes nothing. */
    const settle = (entry: Entry): void => {
      entry.admitsUntimed = Option.isSome(entry.forced)
        ? entry.forced.value === "closed"
        : entry.state._tag === "Closed"
      entry.keepsOnSuccess =
        Option.isSome(entry.forced) || Machine.unchangedBy(entry.state, "success", false, config)
    }
    const fresh = (forced: Option.Option<"open" | "closed">): Entry => {
      const entry: Entry = {
        state: Machine.closed,
        forced,
        rejected: 0,
        success: 0,
        failure: 0,
        ignored: 0,
        admitsUntimed: true,
        keepsOnSuccess: false,
        period: 0
      }
      settle(entry)
      return entry
    }
    const cell = (key: string): Entry => {
      let entry = cells.get(key)
      if (entry === undefined) {
        entry = fresh(Option.none())
        cells.set(key, entry)
      }
      return entry
    }
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<StateChange>(), PubSub.shutdown)
    // a copy, so that a reader sees the key as it was at the read
    const get = (key: string) => Effect.sync((): Readonly<Entry> => ({ ...cell(key) }))

    const announce = (key: string, before: Machine.State, after: Machine.State, reason: string) => {
      const from = stateName(before)
      const to = stateName(after)
      return from === to
        ? Effect.void
        : Effect.flatMap(Clock.currentTimeMillis, (at) =>
            Effect.zipRight(
              PubSub.publish(hub, { key, from, to, at, reason }),
              Metric.set(stateGauge.pipe(Metric.tagged("key", key)), gaugeValue(to))
            )
          )
    }

    /** Admits or refuses a call at `now`, updating the entry (state and refusal count). */
    const admitEntry = (entry: Entry, now: number): Machine.Decision => {
      if (Option.isSome(entry.forced)) {
        if (entry.forced.value === "closed") return admitUntimed
        entry.rejected++
        return { _tag: "Reject", retryAfterMillis: config.openMillis }
      }
      const [decision, state] = Machine.admit(entry.state, now, config)
      if (state !== entry.state) {
        if (entry.state._tag !== "HalfOpen" && state._tag === "HalfOpen") entry.period++
        entry.state = state
        settle(entry)
      }
      if (decision._tag === "Reject") entry.rejected++
      return decision
    }
    const admitUntimed: Machine.Decision = { _tag: "Admit", trial: false }

    /**
     * An interrupted call (from outside, or by itself) is neither a success nor a failure: it is not
     * counted, and only frees what it held (a trial slot).
     */
    type Ending = Machine.Outcome | "interrupted"

    const failureOutcome = <E>(cause: Cause.Cause<E>): Ending =>
      Cause.isInterruptedOnly(cause)
        ? "interrupted"
        : Option.match(Cause.failureOption(cause), {
            onNone: () => "failure",
            onSome: (e) => (isIgnored(e) ? "ignored" : "failure")
          })

    const outcomeOf = <A, E>(exit: Exit.Exit<A, E>, elapsed: number): Ending =>
      Exit.isSuccess(exit)
        ? elapsed > config.slowCallMillis
          ? "failure"
          : "success"
        : failureOutcome(exit.cause)

    /**
     * Counts the outcome and moves the state at `end`; announces a change, then ends with `exit`. A
     * trial admitted in another HALF_OPEN period than the current one (`period`) moves nothing.
     */
    const recordAt = <A, E>(
      key: string,
      entry: Entry,
      outcome: Ending,
      trial: boolean,
      period: number,
      end: number,
      exit: Exit.Exit<A, E>
    ): Effect.Effect<A, E> => {
      if (outcome !== "interrupted") entry[outcome]++
      if (Option.isSome(entry.forced) || (trial && period !== entry.period)) return exit
      const previous = entry.state
      // an interrupted call moves the machine as an ignored one: in HALF_OPEN it frees its trial slot
      const recorded = Machine.record(
        previous,
        outcome === "interrupted" ? "ignored" : outcome,
        trial,
        end,
        config
      )
      if (recorded !== previous) {
        entry.state = recorded
        settle(entry)
      }
      return stateName(previous) === stateName(recorded)
        ? exit
        : Effect.zipRight(
            announce(
              key,
              previous,
              recorded,
              outcome === "success" ? "trial calls succeeded" : "failure threshold reached"
            ),
            exit
          )
    }

    /**
     * Ends a call admitted without a start time (not a trial, no slow-call threshold): when the
     * outcome leaves the state as it is (the healthy closed breaker) only a counter moves and no
     * clock is read; otherwise the state is recorded at the end time, as after a timed call.
     */
    const recordUntimed = <A, E>(key: string, entry: Entry, outcome: Ending, exit: Exit.Exit<A, E>) => {
      // not a trial: an interruption holds nothing, so nothing moves
      if (outcome === "interrupted") return exit
      if (Option.isSome(entry.forced) || Machine.unchangedBy(entry.state, outcome, false, config)) {
        entry[outcome]++
        return exit
      }
      return Effect.flatMap(Clock.currentTimeMillis, (end) =>
        recordAt(key, entry, outcome, false, entry.period, end, exit)
      )
    }

    // no generators and, on the closed path, no clock read and no allocation but the call's Exit:
    // this is the hot path of every PSP call
    const protect: Service["protect"] = (key) => {
      const entry = cell(key)
      const onFailure = <E>(cause: Cause.Cause<E>) =>
        recordUntimed(key, entry, failureOutcome(cause), Exit.failCause(cause))
      const onSuccess = <A>(a: A) => {
        if (entry.keepsOnSuccess) {
          entry.success++
          return Exit.succeed(a)
        }
        return recordUntimed(key, entry, "success", Exit.succeed(a))
      }

      /**
       * Any call that needs the clock at its start: a breaker not closed, or slow calls counted. Only
       * `effect` itself is interruptible: from admission to record the call cannot be lost, so a
       * trial interrupted from outside (a caller's timeout, a client gone) still frees its slot.
       */
      const timed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
        Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<A, E | CircuitOpen, R> => {
            const before = entry.state
            const decision = admitEntry(entry, now)
            const period = entry.period
            const announced =
              entry.state === before
                ? Effect.void
                : announce(key, before, entry.state, "open timeout elapsed")
            if (decision._tag === "Reject") {
              return Effect.zipRight(
                announced,
                Effect.fail(new CircuitOpen({ key, retryAfterMillis: decision.retryAfterMillis }))
              )
            }
            return Effect.zipRight(
              announced,
              Effect.flatMap(Effect.exit(restore(effect)), (exit) =>
                Effect.flatMap(Clock.currentTimeMillis, (end) =>
                  recordAt(key, entry, outcomeOf(exit, end - now), decision.trial, period, end, exit)
                )
              )
            )
          })
        )

      return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> => {
        if (timesCalls) return timed(effect)
        const untimed = Effect.matchCauseEffect(effect, { onFailure, onSuccess })
        let timedCall: Effect.Effect<A, E | CircuitOpen, R> | undefined
        return Effect.suspend(() =>
          // a closed breaker (or one forced closed) admits without a decision, so without the time
          entry.admitsUntimed ? untimed : (timedCall ??= timed(effect))
        )
      }
    }

    const snapshot: Service["snapshot"] = (key) =>
      Effect.zipWith(get(key), Clock.currentTimeMillis, (entry, now) => {
        const s = Machine.stats(entry.state)
        return {
          key,
          state: Option.isSome(entry.forced)
            ? entry.forced.value === "open"
              ? "open"
              : "closed"
            : stateName(Machine.observe(entry.state, now)),
          forced: entry.forced,
          windowCalls: s.calls,
          windowFailures: s.failures,
          consecutiveFailures: s.consecutive,
          rejected: entry.rejected,
          succeeded: entry.success,
          failed: entry.failure,
          ignored: entry.ignored
        }
      })

    const force = (key: string, forced: Option.Option<"open" | "closed">, reason: string) =>
      Effect.gen(function* () {
        const before = yield* snapshot(key)
        yield* Effect.sync(() => {
          const entry = cell(key)
          // the period goes on: a trial admitted before this change moves nothing after it
          Object.assign(entry, fresh(forced), { period: entry.period + 1 })
        })
        const after = yield* snapshot(key)
        if (before.state !== after.state) {
          const at = yield* Clock.currentTimeMillis
          yield* PubSub.publish(hub, { key, from: before.state, to: after.state, at, reason })
          yield* Metric.set(stateGauge.pipe(Metric.tagged("key", key)), gaugeValue(after.state))
        }
      })

    return CircuitBreaker.of({
      protect,
      state: (key) => Effect.map(snapshot(key), (s) => s.state),
      snapshot,
      changes: Stream.fromPubSub(hub, { scoped: true }),
      forceOpen: (key) => force(key, Option.some("open"), "forced open by an operator"),
      forceClosed: (key) => force(key, Option.some("closed"), "forced closed by an operator"),
      reset: (key) => force(key, Option.none(), "reset by an operator")
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<CircuitBreaker> =>
  Layer.scoped(CircuitBreaker, make(options))
