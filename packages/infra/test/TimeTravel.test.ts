/**
 * Time travel: the state of a payment as of a version or a point in time, on every store Layer.
 * Appends happen at instants set by `TestClock`, which is what the stores record.
 */
import { EventStore, Ids, Payment, PaymentEvent } from "@aegispay/core"
import { Database, Testing } from "@aegispay/infra"
import { assert, describe, it, layer } from "@effect/vitest"
import { DateTime, Effect, Layer, TestClock } from "effect"
import { authenticated, initiated } from "./support/events.js"

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0)

const events = (id: Ids.PaymentId, at: number) => ({
  initiated: initiated(id, { merchantId: "m_tt", amount: 900n, customer: "cus_tt", at }),
  authenticated: authenticated(at),
  cancelled: new PaymentEvent.PaymentCancelled({ reason: "customer left", at: DateTime.unsafeMake(at) })
})

const suite = (name: string, stores: Layer.Layer<Database.Stores, unknown>) =>
  layer(stores, { timeout: "60 seconds" })(`${name}: time travel`, (it) => {
    it.effect("the state as of a version, and as of an instant, is the replay of the events up to it", () =>
      Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const id =
          `pay_01J9Z8X6Q2M4T7V3B5TT${String(Date.now() % 1_000_000).padStart(6, "0")}` as Ids.PaymentId
        yield* TestClock.setTime(T0)
        const e = events(id, T0)
        yield* store.append(id, 0, [e.initiated, e.authenticated])
        yield* TestClock.setTime(T0 + 60_000)
        yield* store.append(id, 2, [events(id, T0 + 60_000).cancelled])

        const v1 = yield* EventStore.stateAt(id, { version: 1 })
        const v2 = yield* EventStore.stateAt(id, { version: 2 })
        const v3 = yield* EventStore.stateAt(id, { version: 3 })
        assert.deepStrictEqual([v1.status, v2.status, v3.status], ["initiated", "authenticated", "cancelled"])
        assert.deepStrictEqual(v2, Payment.replay([e.initiated, e.authenticated]))
        assert.deepStrictEqual(v3, yield* EventStore.load(id))

        const before = yield* EventStore.stateAt(id, { time: new Date(T0 - 1) })
        const between = yield* EventStore.stateAt(id, { time: new Date(T0 + 30_000) })
        const after = yield* EventStore.stateAt(id, { time: new Date(T0 + 60_000) })
        assert.strictEqual(before.status, "none", "nothing had happened yet")
        assert.deepStrictEqual(between, v2)
        assert.deepStrictEqual(after, v3)
      })
    )
  })

suite("memory", Database.layerMemory.pipe(Layer.provide(Ids.layerRandom)))
suite("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layerRandom)))
const url = process.env["DATABASE_URL"]
if (url !== undefined && url !== "") {
  suite("PostgreSQL", Testing.layerPgThrowawaySchema(url).pipe(Layer.provide(Ids.layerRandom)))
} else {
  describe("PostgreSQL time travel", () => {
    it("needs DATABASE_URL (CI sets it; on a laptop it is skipped)", ({ skip }) => {
      if (process.env["AEGISPAY_REQUIRE_SERVICES"] === "1") throw new Error("DATABASE_URL is required in CI")
      skip()
    })
  })
}
