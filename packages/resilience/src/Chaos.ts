/**
 * Fault injection as a Layer that wraps any effect: added latency, errors, timeouts, and partial
 * failure (the effect ran, but its result is lost), each with a probability, drawn from a seeded
 * `Random` so a run can be replayed; switched on, off or changed at run time.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Random, Ref, Schema } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  readonly latency?: {
    readonly probability: number
    readonly min: Duration.DurationInput
    readonly max: Duration.DurationInput
  }
  readonly error?: { readonly probability: number }
  readonly timeout?: { readonly probability: number; readonly after: Duration.DurationInput }
  /** The effect runs, then its result is replaced by a failure: "did it happen?" is unknown. */
  readonly lostResult?: { readonly probability: number }
}

/**
 * An injected fault.
 *
 * @since 0.1.0
 * @category errors
 */
export class ChaosFault extends Schema.TaggedError<ChaosFault>("@aegispay/resilience/ChaosFault")(
  "ChaosFault",
  {
    kind: Schema.Literal("error", "timeout", "lost_result")
  }
) {
  override get message(): string {
    return `injected fault: ${this.kind}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly wrap: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ChaosFault, R>
  readonly set: (faults: Faults) => Effect.Effect<void>
  readonly enable: Effect.Effect<void>
  readonly disable: Effect.Effect<void>
  /** Restarts the random sequence from `seed`, so what follows replays. */
  readonly reseed: (seed: number | string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Chaos extends Context.Tag("@aegispay/resilience/Chaos")<Chaos, Service>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly seed: number | string
  readonly faults?: Faults
  readonly enabled?: boolean
}) =>
  Effect.gen(function* () {
    const random = yield* Ref.make(Random.make(options.seed))
    const faults = yield* Ref.make<Faults>(options.faults ?? {})
    const enabled = yield* Ref.make(options.enabled ?? true)
    const draw = Effect.flatMap(Ref.get(random), (r) => r.next)
    const hit = (probability: number | undefined) =>
      probability === undefined || probability <= 0
        ? Effect.succeed(false)
        : Effect.map(draw, (x) => x < probability)

    const wrap: Service["wrap"] = (effect) =>
      Effect.gen(function* () {
        if (!(yield* Ref.get(enabled))) return yield* effect
        const f = yield* Ref.get(faults)
        if (f.latency !== undefined && (yield* hit(f.latency.probability))) {
          const min = Duration.toMillis(Duration.decode(f.latency.min))
          const max = Duration.toMillis(Duration.decode(f.latency.max))
          yield* Effect.sleep(Duration.millis(min + (yield* draw) * Math.max(0, max - min)))
        }
        if (f.timeout !== undefined && (yield* hit(f.timeout.probability))) {
          yield* Effect.sleep(f.timeout.after)
          return yield* new ChaosFault({ kind: "timeout" })
        }
        if (yield* hit(f.error?.probability)) return yield* new ChaosFault({ kind: "error" })
        const lose = yield* hit(f.lostResult?.probability)
        const result = yield* effect
        if (lose) return yield* new ChaosFault({ kind: "lost_result" })
        return result
      })

    return Chaos.of({
      wrap,
      set: (next) => Ref.set(faults, next),
      enable: Ref.set(enabled, true),
      disable: Ref.set(enabled, false),
      reseed: (seed) => Ref.set(random, Random.make(seed))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: {
  readonly seed: number | string
  readonly faults?: Faults
  readonly enabled?: boolean
}) => Layer.effect(Chaos, make(options))
