/**
 * Helpers for test suites that run against a real PostgreSQL server.
 *
 * @since 0.1.0
 */
import type { Ids, PersistenceError } from "@aegispay/core"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
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
  Layer.unwrapEffect(
    Effect.map(
      Effect.sync(() => `${prefix}_${process.pid}_${Math.floor(performance.now() * 1000)}`),
      (schema) => {
        const admin = PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })
        const lifetime = Layer.scopedDiscard(
          Effect.acquireRelease(
            Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE SCHEMA ${schema}`)),
            () =>
              Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`DROP SCHEMA ${schema} CASCADE`)).pipe(
                Effect.ignore
              )
          )
        ).pipe(Layer.provide(admin), Layer.orDie)
        const withSchema = `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`
        return Database.layerPg(Redacted.make(withSchema)).pipe(Layer.provide(lifetime))
      }
    )
  )
