/**
 * Helpers for test suites that run against a real PostgreSQL server.
 *
 * @since 0.1.0
 */
import type { Ids, PersistenceError } from "@aegispay/core"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Redacted } from "effect"
import * as Database from "./Database.js"
import type * as OutboxSignal from "./OutboxSignal.js"

/**
 * The PostgreSQL stores in a fresh schema of the database at `url`, dropped when the Layer is
 * released, so runs never collide with each other or with other users of the database.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPgThrowawaySchema = (
  url: string,
  prefix = "aegispay_test"
): Layer.Layer<
  Database.Stores | SqlClient.SqlClient | OutboxSignal.OutboxSignal,
  PersistenceError.PersistenceError,
  Ids.Ids
> =>
  Layer.unwrapScoped(
    Effect.map(throwawaySchemaUrl(url, prefix).pipe(Effect.orDie), (withSchema) =>
      Database.layerPg(Redacted.make(withSchema))
    )
  )

/**
 * A fresh schema in the database at `url`, dropped (with everything in it) when the scope closes;
 * returns `url` with that schema first on the search path, for any client (benchmarks give it to
 * the libraries they compare with, so nothing is left in `public`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const throwawaySchemaUrl = (url: string, prefix = "aegispay_test") =>
  Effect.gen(function* () {
    const schema = `${prefix}_${process.pid}_${Math.floor(performance.now() * 1000)}`
    const admin = yield* Layer.build(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
    const sql = Context.get(admin, SqlClient.SqlClient)
    yield* Effect.acquireRelease(sql.unsafe(`CREATE SCHEMA ${schema}`), () =>
      sql.unsafe(`DROP SCHEMA ${schema} CASCADE`).pipe(Effect.ignore)
    )
    return `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  })
