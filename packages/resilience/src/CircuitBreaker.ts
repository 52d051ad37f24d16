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
  Ref,
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

interface Entry {
  readonly state: Machine.State
  readonly forced: Option.Option<"open" | "closed">
  readonly rejected: number
  readonly success: number
  readonly failure: number
  readonly ignored: number
}

const fresh: Entry = {
  state: Machine.closed,
  forced: Option.none(),
  rejected: 0,
  success: 0,
  failure: 0,
  ignored: 0
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
    // one Ref per key, found through a map owned by this service instance (created on first use)
    const cells = new Map<string, Ref.Ref<Entry>>()
    const cell = (key: string): Ref.Ref<Entry> => {
      let ref = cells.get(key)
      if (ref === undefined) {
        ref = Ref.unsafeMake(fresh)
        cells.set(key, ref)
      }
      return ref
    }
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<StateChange>(), PubSub.shutdown)
    const get = (key: string) => Effect.suspend(() => Ref.get(cell(key)))

    const announce = (key: string, before: Entry, after: Entry, reason: string) => {
      const from = stateName(before.state)
      const to = stateName(after.state)
      return from === to
        ? Effect.void
        : Effect.flatMap(Clock.currentTimeMillis, (at) =>
            Effect.zipRight(
              PubSub.publish(hub, { key, from, to, at, reason }),
              Metric.set(stateGauge.pipe(Metric.tagged("key", key)), gaugeValue(to))
            )
          )
    }

    const admitEntry = (entry: Entry, now: number): readonly [Machine.Decision, Entry] => {
      if (Option.isSome(entry.forced)) {
        return entry.forced.value === "open"
          ? [
              { _tag: "Reject", retryAfterMillis: config.openMillis },
              { ...entry, rejected: entry.rejected + 1 }
            ]
          : [{ _tag: "Admit", trial: false }, entry]
      }
      const [d, state] = Machine.admit(entry.state, now, config)
      if (state === entry.state && d._tag === "Admit") return [d, entry] // the closed fast path allocates nothing
      return [d, { ...entry, state, rejected: entry.rejected + (d._tag === "Reject" ? 1 : 0) }]
    }

    const outcomeOf = <A, E>(exit: Exit.Exit<A, E>, elapsed: number): Machine.Outcome =>
      Exit.isSuccess(exit)
        ? elapsed > config.slowCallMillis
          ? "failure"
          : "success"
        : Cause.isInterruptedOnly(exit.cause)
          ? "ignored"
          : Option.match(Cause.failureOption(exit.cause), {
              onNone: () => "failure",
              onSome: (e) => (isIgnored(e) ? "ignored" : "failure")
            })

    // written with flatMap rather than a generator: this is the hot path of every PSP call
    const protect: Service["protect"] = (key) => {
      const ref = cell(key)
      return <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(
            Ref.modify(ref, (entry) => {
              const [decision, next] = admitEntry(entry, now)
              return [[decision, entry, next] as const, next]
            }),
            ([decision, before, admitted]): Effect.Effect<A, E | CircuitOpen, R> => {
              const announced =
                admitted === before ? Effect.void : announce(key, before, admitted, "open timeout elapsed")
              if (decision._tag === "Reject") {
                return Effect.zipRight(
                  announced,
                  Effect.fail(new CircuitOpen({ key, retryAfterMillis: decision.retryAfterMillis }))
                )
              }
              return Effect.zipRight(
                announced,
                Effect.flatMap(Effect.exit(effect), (exit) =>
                  Effect.flatMap(Clock.currentTimeMillis, (end) => {
                    const outcome = outcomeOf(exit, end - now)
                    return Effect.flatMap(
                      Ref.modify(ref, (entry) => {
                        const counted = { ...entry, [outcome]: entry[outcome] + 1 }
                        const next = Option.isSome(entry.forced)
                          ? counted
                          : {
                              ...counted,
                              state: Machine.record(entry.state, outcome, decision.trial, end, config)
                            }
                        return [[entry, next] as const, next]
                      }),
                      ([previous, recorded]) =>
                        stateName(previous.state) === stateName(recorded.state)
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
                    )
                  })
                )
              )
            }
          )
        )
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
        yield* Ref.set(cell(key), { ...fresh, forced })
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
