import { Ids } from "@aegispay/core"
import { Database, Testing } from "@aegispay/infra"
import { describe, it } from "@effect/vitest"
import { Layer } from "effect"
import { contract } from "./contract.js"

contract("memory", Database.layerMemory.pipe(Layer.provide(Ids.layerRandom)))
contract("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layerRandom)))

const url = process.env["DATABASE_URL"]
if (url !== undefined && url !== "") {
  contract("PostgreSQL", Testing.layerPgThrowawaySchema(url).pipe(Layer.provide(Ids.layerRandom)))
} else {
  describe("PostgreSQL stores", () => {
    it("need DATABASE_URL (CI sets it; on a laptop they are skipped)", ({ skip }) => {
      if (process.env["AEGISPAY_REQUIRE_SERVICES"] === "1") throw new Error("DATABASE_URL is required in CI")
      skip()
    })
  })
}
