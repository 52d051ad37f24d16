/**
 * Bulkheads and timeouts. A bulkhead allows at most `maxConcurrent` calls per key at once and at
 * most `maxQueue` more waiting; beyond that a call is refused at once (`BulkheadFull`), so one slow
 * dependency cannot hold every fiber of the process.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, HashMap, Layer, Option, Ref, Schema } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class BulkheadFull extends Schema.TaggedError<BulkheadFull>("@aegispay/resilience/BulkheadFull")(
  "BulkheadFull",
  {
    key: Schema.String,
    maxConcurrent: Schema.Number,
    maxQueue: Schema.Number
  }
) {
  override get message(): string {
    return `${this.key}: ${this.maxConcurrent} calls running and ${this.maxQueue} waiting; refused`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class TimeoutError extends Schema.TaggedError<TimeoutError>("@aegispay/resilience/TimeoutError")(
  "TimeoutError",
  {
    after: Schema.DurationFromMillis
  }
) {
  override get message(): string {
    return `timed out after ${Duration.format(this.after)}`
  }
}

/**
 * Fails with `TimeoutError` (and interrupts `effect`) when it takes longer than `after`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const timeout =
  (after: Duration.DurationInput) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | TimeoutError, R> =>
    Effect.timeoutFail(effect, {
      duration: after,
      onTimeout: () => new TimeoutError({ after: Duration.decode(after) })
    })

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly maxConcurrent: number
  readonly maxQueue: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly run: (
    key: string
  ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadFull, R>
  readonly usage: (key: string) => Effect.Effect<{ readonly running: number; readonly waiting: number }>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Bulkhead extends Context.Tag("@aegispay/resilience/Bulkhead")<Bulkhead, Service>() {}

interface Slot {
  readonly running: number
  readonly waiting: number
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service> =>
  Effect.gen(function* () {
    const slots = yield* Ref.make(HashMap.empty<string, Slot>())
    const permits = yield* Ref.make(HashMap.empty<string, Effect.Semaphore>())
    const semaphore = (key: string) =>
      Effect.flatMap(Effect.makeSemaphore(options.maxConcurrent), (fresh) =>
        Ref.modify(permits, (m) =>
          Option.match(HashMap.get(m, key), {
            onNone: () => [fresh, HashMap.set(m, key, fresh)] as const,
            onSome: (s) => [s, m] as const
          })
        )
      )
    const slot = (m: HashMap.HashMap<string, Slot>, key: string) =>
      Option.getOrElse(HashMap.get(m, key), () => ({ running: 0, waiting: 0 }))
    const change = (key: string, f: (s: Slot) => Slot) =>
      Ref.update(slots, (m) => HashMap.set(m, key, f(slot(m, key))))

    const run: Service["run"] = (key) => (effect) =>
      Effect.gen(function* () {
        const sem = yield* semaphore(key)
        const admitted = yield* Ref.modify(slots, (m) => {
          const s = slot(m, key)
          if (s.running + s.waiting >= options.maxConcurrent + options.maxQueue) return [false, m] as const
          return [true, HashMap.set(m, key, { ...s, waiting: s.waiting + 1 })] as const
        })
        if (!admitted) return yield* new BulkheadFull({ key, ...options })
        return yield* Effect.acquireUseRelease(
          sem.take(1).pipe(
            Effect.zipRight(change(key, (s) => ({ running: s.running + 1, waiting: s.waiting - 1 }))),
            Effect.onInterrupt(() => change(key, (s) => ({ ...s, waiting: s.waiting - 1 })))
          ),
          () => effect,
          () =>
            Effect.zipRight(
              change(key, (s) => ({ ...s, running: s.running - 1 })),
              sem.release(1)
            )
        )
      })

    return Bulkhead.of({ run, usage: (key) => Effect.map(Ref.get(slots), (m) => slot(m, key)) })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Bulkhead> => Layer.effect(Bulkhead, make(options))
