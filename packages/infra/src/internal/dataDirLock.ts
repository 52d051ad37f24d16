import { SqlError } from "@effect/sql"
import { Effect } from "effect"
import { open, readFile, unlink } from "node:fs/promises"

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: the process exists but belongs to someone else
    return (e as { code?: string }).code === "EPERM"
  }
}

const inUse = (dataDir: string, pid: number) =>
  new SqlError.SqlError({
    cause: new Error(`lock held by process ${pid}`),
    message:
      `the embedded database in ${dataDir} is in use by process ${pid}: PGlite serves one process at a time ` +
      `(two writers corrupt it); stop that process, or choose another AEGISPAY_DATA_DIR, or use PostgreSQL ` +
      `(DATABASE_URL) to run several instances`
  })

/**
 * Holds `<dataDir>.lock` (our process id, created exclusively) for the life of the scope, so a
 * second process can never open the same PGlite data directory; a lock left by a process that no
 * longer runs is taken over.
 */
export const lockDataDir = (dataDir: string) => {
  const path = `${dataDir}.lock`
  const create = Effect.tryPromise({
    try: async () => {
      const handle = await open(path, "wx")
      await handle.writeFile(String(process.pid))
      await handle.close()
      return true as const
    },
    catch: (e) => e as { readonly code?: string }
  })
  const take: Effect.Effect<void, SqlError.SqlError> = create.pipe(
    Effect.asVoid,
    Effect.catchAll((e) =>
      e.code !== "EEXIST"
        ? Effect.fail(new SqlError.SqlError({ cause: e, message: `could not lock ${path}` }))
        : Effect.flatMap(
            Effect.promise(() => readFile(path, "utf8").catch(() => "")),
            (content) => {
              const pid = Number.parseInt(content.trim(), 10)
              if (Number.isInteger(pid) && pid > 0 && alive(pid)) return Effect.fail(inUse(dataDir, pid))
              // stale: its process is gone; remove it and take it (once)
              return Effect.promise(() => unlink(path).catch(() => undefined)).pipe(
                Effect.zipRight(create),
                Effect.asVoid,
                Effect.mapError(
                  (cause) => new SqlError.SqlError({ cause, message: `could not lock ${path}` })
                )
              )
            }
          )
    )
  )
  return Effect.acquireRelease(take, () => Effect.promise(() => unlink(path).catch(() => undefined)))
}
