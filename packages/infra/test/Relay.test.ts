import { EventStore, Ids, Outbox, PaymentEvent } from "@aegispay/core"
import { Database, Relay, Testing } from "@aegispay/infra"
import type { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref } from "effect"
import { authenticated, initiated } from "./support/events.js"

const STREAMS = 20
const EVENTS = 5

const event = (paymentId: Ids.PaymentId, n: number): PaymentEvent.PaymentEvent =>
  n === 1 ? initiated(paymentId, { merchantId: "m_relay" }) : authenticated(n)

const relaySuite = (name: string, stores: Layer.Layer<Database.Stores | SqlClient.SqlClient, unknown>) =>
  layer(stores, { excludeTestServices: true, timeout: "120 seconds" })(`${name} relay`, (it) => {
    it.effect(
      "two relays at once deliver every event exactly once after dedup, in order per stream; failures retry",
      () =>
        Effect.gen(function* () {
          const store = yield* EventStore.EventStore
          const outbox = yield* Outbox.Outbox
          const prefix = `pay_01J9Z8X6Q2M4T7V3B5N8R${name === "PGlite" ? "P" : "Q"}`
          const ids = Array.from(
            { length: STREAMS },
            (_, i) => `${prefix}${String(i).padStart(4, "0")}` as Ids.PaymentId
          )
          for (let v = 1; v <= EVENTS; v++) {
            for (const id of ids) yield* store.append(id, v - 1, [event(id, v)])
          }
          const seen = yield* Ref.make<ReadonlyArray<Outbox.OutboxMessage>>([])
          const failures = yield* Ref.make(0)
          const publisher = (relay: string): Outbox.Publisher["Type"] => ({
            name: relay,
            publish: (m) =>
              Effect.gen(function* () {
                // every 7th delivery fails once, so retries and backoff are exercised
                const n = yield* Ref.updateAndGet(failures, (x) => x + 1)
                if (n % 7 === 0)
                  return yield* new Outbox.PublishError({ publisher: relay, reason: "injected" })
                yield* Ref.update(seen, (all) => [...all, m])
              })
          })
          const a = yield* Relay.make(publisher("a"), { backoff: "1 millis", batchSize: 8 })
          const b = yield* Relay.make(publisher("b"), { backoff: "1 millis", batchSize: 8 })
          const drain = (relay: typeof a) =>
            Effect.gen(function* () {
              for (let i = 0; i < 400; i++) {
                if ((yield* outbox.backlog).pending === 0) return
                yield* relay.runOnce
              }
            })
          const fa = yield* Effect.fork(drain(a))
          const fb = yield* Effect.fork(drain(b))
          yield* Fiber.join(fa)
          yield* Fiber.join(fb)
          const mine = (yield* Ref.get(seen)).filter((m) => ids.includes(m.streamId))
          const unique = new Map(mine.map((m) => [m.eventId, m]))
          assert.strictEqual(unique.size, STREAMS * EVENTS, "every event delivered")
          for (const id of ids) {
            const versions = mine.filter((m) => m.streamId === id).map((m) => m.version)
            const firstSeen = versions.filter((v, i) => versions.indexOf(v) === i)
            assert.deepStrictEqual(firstSeen, [1, 2, 3, 4, 5], `order for ${id}`)
          }
          assert.strictEqual((yield* outbox.backlog).pending, 0)
        })
    )
  })

describe("SQL outbox relay", () => {
  relaySuite("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layerRandom)))
  const url = process.env["DATABASE_URL"]
  if (url !== undefined && url !== "")
    relaySuite(
      "PostgreSQL",
      Testing.layerPgThrowawaySchema(url, "aegispay_relay").pipe(Layer.provide(Ids.layerRandom))
    )
})
