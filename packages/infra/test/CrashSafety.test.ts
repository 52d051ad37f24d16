import { EventStore, Ids, PaymentEvent } from "@aegispay/core"
import { Database, Testing } from "@aegispay/infra"
import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { DateTime, Effect, Fiber, Layer } from "effect"
import { authenticated, initiated } from "./support/events.js"

const events = (paymentId: Ids.PaymentId): ReadonlyArray<PaymentEvent.PaymentEvent> => [
  initiated(paymentId, { merchantId: "m_crash" }),
  authenticated(1),
  new PaymentEvent.PaymentCancelled({ at: DateTime.unsafeMake(2) })
]

const suite = (name: string, stores: Layer.Layer<Database.Stores | SqlClient.SqlClient, unknown>) =>
  layer(stores, { excludeTestServices: true, timeout: "60 seconds" })(`${name} crash safety`, (it) => {
    it.effect(
      "appends interrupted at any point leave no event without its outbox row, and no row without its event",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore.EventStore
          const sql = yield* SqlClient.SqlClient
          let interrupted = 0
          for (let i = 0; i < 60; i++) {
            const id =
              `pay_01J9Z8X6Q2M4T7V3B5N8CR${name === "PGlite" ? "P" : "Q"}${String(i).padStart(3, "0")}` as Ids.PaymentId
            const fiber = yield* Effect.fork(store.append(id, 0, events(id)))
            // interrupt after a varying number of scheduler turns: before, during or after the transaction
            for (let k = 0; k < i % 12; k++) yield* Effect.yieldNow()
            const exit = yield* Fiber.interrupt(fiber)
            if (exit._tag === "Failure") interrupted += 1
            const written = (yield* store.read(id)).length
            assert.include([0, 3], written, "all or nothing")
          }
          const orphans = yield* sql<{ readonly n: number }>`
          SELECT (SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.event_id))::int
               + (SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = o.event_id))::int AS n`
          assert.strictEqual(orphans[0]?.n, 0)
          assert.isAbove(interrupted, 0, "some appends were really interrupted")
        })
    )
  })

describe("crash safety of the SQL append", () => {
  suite("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layerRandom)))
  const url = process.env["DATABASE_URL"]
  if (url !== undefined && url !== "")
    suite(
      "PostgreSQL",
      Testing.layerPgThrowawaySchema(url, "aegispay_crash").pipe(Layer.provide(Ids.layerRandom))
    )
})
