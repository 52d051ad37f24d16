/**
 * LockManager Layers: in-process (one process owns the data, as with PGlite or in memory) and
 * PostgreSQL advisory locks (several instances on one database). Both release on success, failure
 * and interruption; both fail with `LockTimeout` when the lock is not had in time.
 *
 * @since 0.1.0
 */
import { LockManager, PersistenceError } from "@aegispay/core"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Schedule } from "effect"

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeLocal = Effect.sync(() => {
  // owned by this Layer instance; each access is one synchronous block
  const semaphores = new Map<string, Effect.Semaphore>()
  const semaphore = (key: string) =>
    Effect.suspend(() => {
      const existing = semaphores.get(key)
      if (existing !== undefined) return Effect.succeed(existing)
      return Effect.map(Effect.makeSemaphore(1), (s) => {
        const raced = semaphores.get(key)
        if (raced !== undefined) return raced
        semaphores.set(key, s)
        return s
      })
    })
  return LockManager.LockManager.of({
    withLock: (key, effect, timeout = "10 seconds") =>
      Effect.flatMap(semaphore(key), (s) =>
        Effect.acquireUseRelease(
          // acquisition runs uninterruptibly; waiting for the permit must stay interruptible so the
          // timeout can end it
          Effect.interruptible(
            s.take(1).pipe(
              Effect.timeoutFail({
                duration: timeout,
                onTimeout: () => new LockManager.LockTimeout({ key, timeout: Duration.decode(timeout) })
              })
            )
          ),
          () => effect,
          () => s.release(1)
        )
      )
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layerLocal: Layer.Layer<LockManager.LockManager> = Layer.effect(
  LockManager.LockManager,
  makeLocal
)

/** A stable 63-bit key for `pg_advisory_lock` from any string (FNV-1a 64). */
const advisoryKey = (key: string): string => {
  let h = 0xcbf29ce484222325n
  for (let i = 0; i < key.length; i++) {
    h ^= BigInt(key.charCodeAt(i))
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return (h & 0x7fffffffffffffffn).toString()
}

/**
 * PostgreSQL session advisory locks, taken on a reserved connection and released on it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAdvisory = Effect.map(SqlClient.SqlClient, (sql) =>
  LockManager.LockManager.of({
    withLock: (key, effect, timeout = "10 seconds") =>
      Effect.scoped(
        Effect.gen(function* () {
          const connection = yield* sql.reserve.pipe(
            Effect.mapError((cause) => new PersistenceError.PersistenceError({ operation: "lock", cause }))
          )
          const id = advisoryKey(key)
          const tryLock = connection
            .execute("SELECT pg_try_advisory_lock($1::bigint) AS ok", [id], undefined)
            .pipe(
              Effect.mapError((cause) => new PersistenceError.PersistenceError({ operation: "lock", cause })),
              Effect.flatMap((rows) =>
                (rows[0] as { ok?: boolean } | undefined)?.ok === true
                  ? Effect.void
                  : Effect.fail("busy" as const)
              )
            )
          yield* tryLock.pipe(
            Effect.retry({ schedule: Schedule.spaced("10 millis"), while: (e) => e === "busy" }),
            Effect.timeoutFail({
              duration: timeout,
              onTimeout: () => new LockManager.LockTimeout({ key, timeout: Duration.decode(timeout) })
            }),
            Effect.catchIf(
              (e): e is "busy" => e === "busy",
              () => Effect.fail(new LockManager.LockTimeout({ key, timeout: Duration.decode(timeout) }))
            )
          )
          yield* Effect.addFinalizer(() =>
            connection.execute("SELECT pg_advisory_unlock($1::bigint)", [id], undefined).pipe(Effect.ignore)
          )
          return yield* effect
        })
      )
  })
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerAdvisory: Layer.Layer<LockManager.LockManager, never, SqlClient.SqlClient> = Layer.effect(
  LockManager.LockManager,
  makeAdvisory
)
