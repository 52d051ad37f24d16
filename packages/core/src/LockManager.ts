/**
 * The LockManager port: mutual exclusion per key (a payment id) across processes. It is for
 * efficiency; correctness comes from the event store's expected version.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Schema } from "effect"
import type { PersistenceError } from "./PersistenceError.js"

/**
 * @since 0.1.0
 * @category errors
 */
export class LockTimeout extends Schema.TaggedError<LockTimeout>("@aegispay/core/LockTimeout")(
  "LockTimeout",
  {
    key: Schema.String,
    timeout: Schema.DurationFromMillis
  }
) {
  override get message(): string {
    return `could not lock ${this.key} within ${Duration.format(this.timeout)}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs `effect` holding the lock on `key`; releases it on success, failure and interruption. */
  readonly withLock: <A, E, R>(
    key: string,
    effect: Effect.Effect<A, E, R>,
    timeout?: Duration.DurationInput
  ) => Effect.Effect<A, E | LockTimeout | PersistenceError, R>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class LockManager extends Context.Tag("@aegispay/core/LockManager")<LockManager, Service>() {}
