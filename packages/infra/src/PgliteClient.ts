/**
 * An `SqlClient` over embedded PGlite (PostgreSQL in WebAssembly), persisting to a data directory:
 * the default database when `DATABASE_URL` is not set, so AegisPay runs with no server.
 *
 * PGlite is a single PostgreSQL session, so statements and transactions take turns on one permit:
 * a transaction holds it from BEGIN to COMMIT, and a statement outside any transaction waits for it.
 * The same SQL (compiled for PostgreSQL) serves both drivers. A data directory is locked for the
 * life of the client (`<dataDir>.lock`, with the process id): PGlite does not lock it itself, and a
 * second process writing the same directory corrupts it, so a second process fails to open it.
 *
 * @since 0.1.0
 */
import { Reactivity } from "@effect/experimental"
import { SqlClient, SqlConnection, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
import { Context, Effect, Layer, type Scope, Stream } from "effect"
import { mkdir } from "node:fs/promises"
import { dirname } from "node:path"
import { lockDataDir } from "./internal/dataDirLock.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A directory to persist to; absent: in memory (tests). */
  readonly dataDir?: string | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function* () {
    if (options.dataDir !== undefined) {
      yield* Effect.tryPromise({
        try: () => mkdir(dirname(options.dataDir!), { recursive: true }),
        catch: (cause) =>
          new SqlError.SqlError({ cause, message: "could not create the data directory's parent" })
      })
      // one process per data directory: PGlite does not lock it itself, and two writers corrupt it
      yield* lockDataDir(options.dataDir)
    }
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          return PGlite.create(options.dataDir === undefined ? undefined : options.dataDir)
        },
        catch: (cause) => new SqlError.SqlError({ cause, message: "could not open the embedded database" })
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    const run = (sql: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array") =>
      Effect.tryPromise({
        try: () => db.query<Record<string, unknown>>(sql, params as Array<unknown>, { rowMode }),
        catch: (cause) =>
          new SqlError.SqlError({
            cause,
            message: `embedded database: ${String((cause as Error)?.message ?? cause)}`
          })
      })
    const connection: SqlConnection.Connection = {
      execute: (sql, params, transform) =>
        Effect.map(run(sql, params, "object"), (r) => (transform ? transform(r.rows) : r.rows)),
      executeRaw: (sql, params) => run(sql, params, "object"),
      executeStream: (sql, params, transform) =>
        Stream.fromIterableEffect(
          Effect.map(run(sql, params, "object"), (r) => (transform ? transform(r.rows) : r.rows))
        ),
      executeValues: (sql, params) =>
        Effect.map(
          run(sql, params, "array"),
          (r) => r.rows as unknown as ReadonlyArray<ReadonlyArray<unknown>>
        ),
      executeUnprepared: (sql, params, transform) =>
        params.length === 0
          ? Effect.tryPromise({
              try: () => db.exec(sql),
              catch: (cause) => new SqlError.SqlError({ cause, message: "embedded database: exec failed" })
            }).pipe(
              Effect.map((results) => {
                const rows = (results[results.length - 1]?.rows ?? []) as ReadonlyArray<
                  Record<string, unknown>
                >
                return transform ? transform(rows) : rows
              })
            )
          : Effect.map(run(sql, params, "object"), (r) => (transform ? transform(r.rows) : r.rows))
    }
    const turn = yield* Effect.makeSemaphore(1)
    const acquirer = Effect.as(
      Effect.acquireRelease(turn.take(1), () => turn.release(1)),
      connection
    )
    const client = yield* SqlClient.make({
      acquirer,
      transactionAcquirer: acquirer,
      compiler: PgClient.makeCompiler(),
      spanAttributes: [
        ["db.system", "postgresql"],
        ["db.name", "pglite"]
      ]
    })
    const listen = (channel: string, onPayload: (payload: string) => void) =>
      // LISTEN takes its turn like any statement, so it never lands inside another fiber's transaction
      Effect.acquireRelease(
        turn.withPermits(1)(
          Effect.tryPromise({
            try: () => db.listen(channel, onPayload),
            catch: (cause) => new SqlError.SqlError({ cause, message: "embedded database: listen failed" })
          })
        ),
        (unlisten) =>
          turn
            .withPermits(1)(Effect.promise(() => unlisten()))
            .pipe(Effect.ignore)
      ).pipe(Effect.asVoid)
    return { client, db, listen }
  })

/**
 * LISTEN on the embedded database: `listen` returns once the channel is listened to, and stops
 * listening when the scope closes. Notifications arrive after the statement that commits them.
 *
 * @since 0.1.0
 * @category tags
 */
export class Notifications extends Context.Tag("@aegispay/infra/PgliteClient/Notifications")<
  Notifications,
  {
    readonly listen: (
      channel: string,
      onPayload: (payload: string) => void
    ) => Effect.Effect<void, SqlError.SqlError, Scope.Scope>
  }
>() {}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<SqlClient.SqlClient | Notifications, SqlError.SqlError> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ client, listen }) =>
      Context.make(SqlClient.SqlClient, client).pipe(Context.add(Notifications, { listen }))
    )
  ).pipe(Layer.provide(Reactivity.layer))
