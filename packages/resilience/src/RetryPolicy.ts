/**
 * Retry policies as `Schedule`s: exponential backoff from an initial delay by a multiplier, a
 * jitter band, a cap on each delay, a maximum number of attempts, an overall deadline, a predicate
 * deciding which errors are retryable, and a server's `Retry-After` honoured as a lower bound.
 * Built from code (`make`) or from `Config` (`config`).
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Option, Random, Schedule } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<E> {
  /** First delay (default 100 ms). */
  readonly initialDelay?: Duration.DurationInput
  /** Growth of each delay (default 2). */
  readonly multiplier?: number
  /** Each delay is multiplied by a random factor in [1 - jitter, 1 + jitter] (default 0.2; 0 disables). */
  readonly jitter?: number
  /** No delay is longer than this (default 5 s), unless a `Retry-After` asks for more. */
  readonly maxDelay?: Duration.DurationInput
  /** Total attempts, the first included (default 3). */
  readonly maxAttempts?: number
  /** No retry starts after this much time since the first failure (default: none). */
  readonly deadline?: Duration.DurationInput
  /** Which errors are worth another attempt (default: all). */
  readonly retryable?: (error: E) => boolean
  /** A server's requested wait, used as a lower bound for the next delay. */
  readonly retryAfter?: (error: E) => Option.Option<Duration.Duration>
}

/**
 * The settings `make` uses when an option is absent.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  initialDelay: Duration.millis(100),
  multiplier: 2,
  jitter: 0.2,
  maxDelay: Duration.seconds(5),
  maxAttempts: 3
} as const

/**
 * The delay before retry number `n` (1-based) without jitter or `Retry-After`: the pure rule.
 *
 * @since 0.1.0
 * @category math
 */
export const baseDelay = <E>(options: Options<E>, n: number): Duration.Duration => {
  const initial = Duration.toMillis(Duration.decode(options.initialDelay ?? defaults.initialDelay))
  const multiplier = options.multiplier ?? defaults.multiplier
  const cap = Duration.toMillis(Duration.decode(options.maxDelay ?? defaults.maxDelay))
  return Duration.millis(Math.min(cap, initial * multiplier ** (n - 1)))
}

/**
 * A Schedule over the errors of an effect: use with `Effect.retry(effect, schedule)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E>(options: Options<E> = {}): Schedule.Schedule<Duration.Duration, E> => {
  const jitter = Math.max(0, Math.min(1, options.jitter ?? defaults.jitter))
  const cap = Duration.toMillis(Duration.decode(options.maxDelay ?? defaults.maxDelay))
  const retryable = options.retryable ?? (() => true)
  const retryAfter = options.retryAfter ?? (() => Option.none())
  const maxRetries = Math.max(0, (options.maxAttempts ?? defaults.maxAttempts) - 1)
  const deadline = options.deadline === undefined ? undefined : Duration.decode(options.deadline)
  const schedule = Schedule.identity<E>().pipe(
    Schedule.whileInput(retryable),
    Schedule.intersect(Schedule.recurs(maxRetries)),
    Schedule.addDelayEffect(([error, done]) =>
      Effect.gen(function* () {
        const base = Duration.toMillis(baseDelay(options, done + 1))
        const factor = jitter > 0 ? yield* Random.nextRange(1 - jitter, 1 + jitter) : 1
        const jittered = Math.min(cap, base * factor)
        const floor = Option.match(retryAfter(error), { onNone: () => 0, onSome: Duration.toMillis })
        return Duration.millis(Math.max(jittered, floor))
      })
    ),
    Schedule.map(([, done]) => baseDelay(options, done + 1))
  )
  return deadline === undefined ? schedule : Schedule.upTo(schedule, deadline)
}

/**
 * Retries `effect` with the policy.
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry =
  <E>(options: Options<E>) =>
  <A, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.retry(effect, make(options))

/**
 * The numeric settings from configuration (`INITIAL_DELAY`, `MULTIPLIER`, `JITTER`, `MAX_DELAY`,
 * `MAX_ATTEMPTS`, `DEADLINE`), each with its default; nest it under a prefix with `Config.nested`.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options<never>> = Config.all({
  initialDelay: Config.duration("INITIAL_DELAY").pipe(Config.withDefault(defaults.initialDelay)),
  multiplier: Config.number("MULTIPLIER").pipe(Config.withDefault(defaults.multiplier)),
  jitter: Config.number("JITTER").pipe(
    Config.withDefault(defaults.jitter),
    Config.validate({ message: "JITTER must be in [0, 1]", validation: (j) => j >= 0 && j <= 1 })
  ),
  maxDelay: Config.duration("MAX_DELAY").pipe(Config.withDefault(defaults.maxDelay)),
  maxAttempts: Config.integer("MAX_ATTEMPTS").pipe(
    Config.withDefault(defaults.maxAttempts),
    Config.validate({ message: "MAX_ATTEMPTS must be at least 1", validation: (n) => n >= 1 })
  ),
  deadline: Config.option(Config.duration("DEADLINE"))
}).pipe(
  Config.map(({ deadline, ...rest }) => ({
    ...rest,
    ...(Option.isSome(deadline) ? { deadline: deadline.value } : {})
  }))
)
