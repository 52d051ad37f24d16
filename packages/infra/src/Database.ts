/**
 * The store Layers an application picks from: embedded PGlite in a data directory (the default,
 * no server needed), PostgreSQL from `DATABASE_URL`, or memory. Migrations run on start.
 *
 * @since 0.1.0
 */
import type { EventStore, IdempotencyStore, LockManager, Outbox, PaymentReadModel } from "@aegispay/core"
import { Ids, PersistenceError } from "@aegispay/core"
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer, Option, type Redacted } from "effect"
import * as Locks from "./Locks.js"
import * as Memory from "./Memory.js"
import * as Migrations from "./Migrations.js"
import * as OutboxSignal from "./OutboxSignal.js"
import * as PgliteClient from "./PgliteClient.js"
import * as SqlStores from "./SqlStores.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Stores =
  | EventStore.EventStore
  | PaymentReadModel.PaymentReadModel
  | IdempotencyStore.IdempotencyStore
  | LockManager.LockManager
  | Outbox.Outbox

const migrated = Layer.effectDiscard(
  Migrations.run.pipe(
    Effect.mapError((cause) => new PersistenceError.PersistenceError({ operation: "migrate", cause }))
  )
)

const sqlStores = SqlStores.layer().pipe(Layer.provideMerge(migrated))

/**
 * Embedded PGlite; `dataDir` absent means in memory (tests). One process owns a data directory,
 * so locks are in-process.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPglite = (
  options: PgliteClient.Options = {}
): Layer.Layer<
  Stores | SqlClient.SqlClient | OutboxSignal.OutboxSignal,
  PersistenceError.PersistenceError,
  Ids.Ids
> =>
  Layer.mergeAll(sqlStores, Locks.layerLocal, OutboxSignal.layerPglite).pipe(
    Layer.provideMerge(
      PgliteClient.layer(options).pipe(
        Layer.mapError((cause) => new PersistenceError.PersistenceError({ operation: "open", cause }))
      )
    )
  )

/**
 * A PostgreSQL server; several instances may share it (locks are advisory locks). The relay is
 * woken by LISTEN on one more connection of its own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (
  url: Redacted.Redacted,
  options: { readonly maxConnections?: number; readonly lockConnections?: number } = {}
): Layer.Layer<
  Stores | SqlClient.SqlClient | OutboxSignal.OutboxSignal,
  PersistenceError.PersistenceError,
  Ids.Ids
> => {
  const connect = (maxConnections: number) =>
    PgClient.layer({ url, maxConnections }).pipe(
      Layer.mapError((cause) => new PersistenceError.PersistenceError({ operation: "connect", cause }))
    )
  // a session advisory lock holds its connection for as long as the lock, so locks get a pool of
  // their own: waiting for a lock can never starve the queries made while holding one
  return Layer.merge(
    Layer.merge(sqlStores, OutboxSignal.layerPg).pipe(
      Layer.provideMerge(connect(options.maxConnections ?? 10))
    ),
    Locks.layerAdvisory.pipe(Layer.provide(connect(options.lockConnections ?? 32)))
  )
}

/**
 * In memory (nothing survives a restart).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Stores | OutboxSignal.OutboxSignal, never, Ids.Ids> = Memory.layer()

/**
 * From the environment: PostgreSQL when `DATABASE_URL` is set, otherwise PGlite in
 * `AEGISPAY_DATA_DIR` (default `.aegispay/data`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(
    Config.all({
      url: Config.option(Config.redacted("DATABASE_URL")),
      dataDir: Config.string("AEGISPAY_DATA_DIR").pipe(Config.withDefault(".aegispay/data"))
    }),
    ({ dataDir, url }) => (Option.isSome(url) ? layerPg(url.value) : layerPglite({ dataDir }))
  )
)
