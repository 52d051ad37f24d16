/**
 * Health per key (one per gateway) over two sliding windows: the last N calls and the calls of the
 * last T. A snapshot gives success rate, error rate by error type, latency p50/p95/p99, volume,
 * throughput and a score in [0, 1]:
 *
 *     score = (0.7 × successRate + 0.3 × latencyScore) × breakerFactor
 *     latencyScore = 1 / (1 + p95 / latencyTarget)          (1 when p95 is 0, 0.5 at the target)
 *     breakerFactor = 1 closed, 0.5 half-open, 0 open
 *
 * over the calls that are in both windows; with no calls the score is 1 (a new gateway gets
 * traffic). Percentiles are exact, by the nearest-rank method over the window's latencies.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Duration, Effect, HashMap, Layer, Option, Ref } from "effect"
import type { CircuitState } from "./CircuitBreaker.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Calls kept per key (default 100). */
  readonly calls?: number
  /** Age of the oldest call kept (default 60 s). */
  readonly duration?: Duration.DurationInput
  /** The p95 latency that halves the latency score (default 1 s). */
  readonly latencyTarget?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CallRecord {
  readonly at: number
  readonly latencyMillis: number
  /** `undefined` for a success, else the error's type (its `_tag`). */
  readonly error: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly key: string
  readonly volume: number
  /** Calls per second over the time window. */
  readonly throughput: number
  readonly successRate: number
  readonly errorRate: number
  readonly errorsByType: Readonly<Record<string, number>>
  readonly latency: { readonly p50: number; readonly p95: number; readonly p99: number }
  readonly circuitState: CircuitState
  readonly score: number
}

/**
 * The nearest-rank percentile of `values` (sorted ascending); 0 for no values.
 *
 * @since 0.1.0
 * @category math
 */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

/**
 * The score formula of the module documentation.
 *
 * @since 0.1.0
 * @category math
 */
export const score = (
  successRate: number,
  p95Millis: number,
  latencyTargetMillis: number,
  state: CircuitState
): number => {
  const latencyScore = 1 / (1 + p95Millis / Math.max(1, latencyTargetMillis))
  const breaker = state === "closed" ? 1 : state === "half_open" ? 0.5 : 0
  return (0.7 * successRate + 0.3 * latencyScore) * breaker
}

/**
 * A snapshot of `calls` (already limited to the windows) at `now`.
 *
 * @since 0.1.0
 * @category math
 */
export const summarize = (
  key: string,
  calls: ReadonlyArray<CallRecord>,
  windowMillis: number,
  latencyTargetMillis: number,
  circuitState: CircuitState
): Snapshot => {
  const volume = calls.length
  const failures = calls.filter((c) => c.error !== undefined)
  const errorsByType: Record<string, number> = {}
  for (const c of failures) errorsByType[c.error!] = (errorsByType[c.error!] ?? 0) + 1
  const sorted = calls.map((c) => c.latencyMillis).sort((a, b) => a - b)
  const latency = { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) }
  const successRate = volume === 0 ? 1 : (volume - failures.length) / volume
  return {
    key,
    volume,
    throughput: volume / Math.max(0.001, windowMillis / 1000),
    successRate,
    errorRate: 1 - successRate,
    errorsByType,
    latency,
    circuitState,
    score:
      volume === 0
        ? score(1, 0, latencyTargetMillis, circuitState)
        : score(successRate, latency.p95, latencyTargetMillis, circuitState)
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly record: (
    key: string,
    outcome: { readonly latency: Duration.Duration; readonly error?: string | undefined }
  ) => Effect.Effect<void>
  /** Runs `effect`, recording its latency and outcome under `key`. */
  readonly track: (key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly snapshot: (key: string, circuitState?: CircuitState) => Effect.Effect<Snapshot>
  readonly keys: Effect.Effect<ReadonlyArray<string>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class HealthMonitor extends Context.Tag("@aegispay/resilience/HealthMonitor")<
  HealthMonitor,
  Service
>() {}

const errorType = (e: unknown): string =>
  typeof e === "object" && e !== null && "_tag" in e && typeof e._tag === "string" ? e._tag : "Error"

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service> =>
  Effect.gen(function* () {
    const maxCalls = options.calls ?? 100
    const windowMillis = Duration.toMillis(Duration.decode(options.duration ?? "60 seconds"))
    const target = Duration.toMillis(Duration.decode(options.latencyTarget ?? "1 second"))
    const store = yield* Ref.make(HashMap.empty<string, ReadonlyArray<CallRecord>>())
    const within = (calls: ReadonlyArray<CallRecord>, now: number) =>
      calls.filter((c) => c.at > now - windowMillis).slice(-maxCalls)

    const record: Service["record"] = (key, outcome) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(store, (m) => {
          const calls = Option.getOrElse(HashMap.get(m, key), () => [] as ReadonlyArray<CallRecord>)
          const next = within(
            [...calls, { at: now, latencyMillis: Duration.toMillis(outcome.latency), error: outcome.error }],
            now
          )
          return HashMap.set(m, key, next)
        })
      )

    const track: Service["track"] = (key) => (effect) =>
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(effect)
        const end = yield* Clock.currentTimeMillis
        const error =
          exit._tag === "Failure"
            ? Option.match(Cause.failureOption(exit.cause), { onNone: () => "Defect", onSome: errorType })
            : undefined
        yield* record(key, { latency: Duration.millis(end - start), error })
        return yield* exit
      })

    const snapshot: Service["snapshot"] = (key, circuitState = "closed") =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const calls = within(
          Option.getOrElse(HashMap.get(yield* Ref.get(store), key), () => []),
          now
        )
        return summarize(key, calls, windowMillis, target, circuitState)
      })

    return HealthMonitor.of({
      record,
      track,
      snapshot,
      keys: Effect.map(Ref.get(store), (m) => [...HashMap.keys(m)])
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HealthMonitor> =>
  Layer.effect(HealthMonitor, make(options))
