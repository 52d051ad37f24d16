import { Ids } from "@aegispay/core"
import { Database } from "@aegispay/infra"
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { contract } from "./contract.js"

contract("memory", Database.layerMemory.pipe(Layer.provide(Ids.layerRandom)))
contract("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layerRandom)))

const url = process.env["DATABASE_URL"]
if (url !== undefined && url !== "") {
  // a fresh schema per run, dropped afterwards, so runs and other users of the database never collide
  const schema = `aegispay_test_${process.pid}_${Math.floor(performance.now())}`
  const admin = PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })
  const isolated = Layer.scopedDiscard(
    Effect.acquireRelease(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE SCHEMA ${schema}`)),
      () =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`DROP SCHEMA ${schema} CASCADE`)).pipe(
          Effect.ignore
        )
    )
  ).pipe(Layer.provide(admin))
  const withSchema = `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  contract(
    "PostgreSQL",
    Database.layerPg(Redacted.make(withSchema)).pipe(
      Layer.provide(Ids.layerRandom),
      Layer.provide(isolated),
      Layer.orDie
    )
  )
} else {
  describe("PostgreSQL stores", () => {
    it("need DATABASE_URL (CI sets it; on a laptop they are skipped)", ({ skip }) => {
      if (process.env["AEGISPAY_REQUIRE_SERVICES"] === "1") throw new Error("DATABASE_URL is required in CI")
      skip()
    })
  })
}
