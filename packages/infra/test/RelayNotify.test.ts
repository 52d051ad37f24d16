import { EventStore, Ids, Outbox } from "@aegispay/core"
import { Database, OutboxSignal, Relay, Testing } from "@aegispay/infra"
import { SqlClient } from "@effect/sql"
import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Queue } from "effect"
import { initiated } from "./support/events.js"

const started = (paymentId: Ids.PaymentId) => initiated(paymentId, { merchantId: "m_notify" })

const suite = (
  name: string,
  stores: Layer.Layer<Database.Stores | SqlClient.SqlClient | OutboxSignal.OutboxSignal, unknown>
) =>
  layer(stores, { excludeTestServices: true, timeout: "60 seconds" })(`${name} relay wake-up`, (it) => {
    it.effect("with a 1 hour poll interval, appended events are still relayed promptly (LISTEN/NOTIFY)", () =>
      Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const outbox = yield* Outbox.Outbox
        const delivered = yield* Queue.unbounded<Outbox.OutboxMessage>()
        const relay = yield* Relay.make(
          { name: "test", publish: (m) => Queue.offer(delivered, m) },
          { pollInterval: "1 hour" }
        )
        const worker = yield* Effect.fork(relay.run)
        const prefix = `pay_01J9Z8X6Q2M4T7V3B5N8WK${name === "PGlite" ? "P" : "Q"}`
        for (let i = 0; i < 5; i++) {
          // let the relay finish its passes and go to sleep on the signal or the 1 hour poll
          yield* Effect.sleep("100 millis")
          const id = `${prefix}${String(i).padStart(3, "0")}` as Ids.PaymentId
          const [event] = yield* store.append(id, 0, [started(id)])
          // wait for delivery (not a sleep): only a wake-up can deliver it before the 1 hour poll
          const message = yield* Queue.take(delivered).pipe(
            Effect.timeoutFail({
              duration: "20 seconds",
              onTimeout: () => new Error(`${id} was not relayed`)
            })
          )
          assert.strictEqual(message.eventId, event!.eventId)
        }
        // the last message is marked published just after it was delivered
        let pending = -1
        for (let i = 0; i < 500 && pending !== 0; i++) {
          pending = (yield* outbox.backlog).pending
          if (pending !== 0) yield* Effect.sleep("10 millis")
        }
        assert.strictEqual(pending, 0)
        yield* Fiber.interrupt(worker)
      })
    )
  })

describe("relay wake-up on append", () => {
  suite("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layerRandom)))
  const url = process.env["DATABASE_URL"]
  if (url !== undefined && url !== "")
    // channels are database-wide; each schema notifies its own channel, so suites running at once in
    // other schemas never wake this relay
    suite(
      "PostgreSQL",
      Testing.layerPgThrowawaySchema(url, "aegispay_notify").pipe(Layer.provide(Ids.layerRandom))
    )

  if (url !== undefined && url !== "")
    layer(Testing.layerPgThrowawaySchema(url, "aegispay_relisten").pipe(Layer.provide(Ids.layerRandom)), {
      excludeTestServices: true,
      timeout: "60 seconds"
    })("PostgreSQL LISTEN connection lost", (it) => {
      it.effect(
        "a killed LISTEN connection is noticed within seconds and replaced; appends wake the relay again",
        () =>
          Effect.gen(function* () {
            const store = yield* EventStore.EventStore
            const sql = yield* SqlClient.SqlClient
            const delivered = yield* Queue.unbounded<Outbox.OutboxMessage>()
            const relay = yield* Relay.make(
              { name: "test", publish: (m) => Queue.offer(delivered, m) },
              { pollInterval: "1 hour" }
            )
            const worker = yield* Effect.fork(relay.run)
            const deliveredWithin = (id: Ids.PaymentId, duration: Duration.DurationInput) =>
              Queue.take(delivered).pipe(
                Effect.timeoutFail({
                  duration,
                  onTimeout: () => new Error(`${id} was not relayed within ${Duration.format(duration)}`)
                }),
                Effect.map((m) => m.streamId)
              )
            const append = (i: number) => {
              const id = `pay_01J9Z8X6Q2M4T7V3B5N8WKR${String(i).padStart(3, "0")}` as Ids.PaymentId
              return Effect.as(store.append(id, 0, [started(id)]), id)
            }
            yield* Effect.sleep("100 millis")
            const first = yield* append(0)
            assert.strictEqual(yield* deliveredWithin(first, "20 seconds"), first)

            const channels = yield* sql<{ readonly channel: string }>`
            SELECT (CASE WHEN current_schema() = 'public' THEN 'aegispay_outbox'
              ELSE 'aegispay_outbox_' || md5(current_schema()) END) AS channel`
            const killed = yield* sql<{ readonly pid: number }>`
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND query = ${`LISTEN "${channels[0]!.channel}"`}`
            assert.isAtLeast(killed.length, 1, "the listener's connection was found")
            const pids = killed.map((k) => k.pid)
            yield* sql`SELECT pg_terminate_backend(pid) FROM unnest(${`{${pids.join(",")}}`}::int[]) AS pid`
            // pg_terminate_backend only signals: wait until the backend is gone, so that no append
            // below can still be heard by it
            let alive = pids.length
            for (let i = 0; i < 100 && alive > 0; i++) {
              yield* Effect.sleep("50 millis")
              const rows = yield* sql<{ readonly n: number }>`
                SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY(${`{${pids.join(",")}}`}::int[])`
              alive = rows[0]!.n
            }
            assert.strictEqual(alive, 0, "the killed backend is gone")

            // appended while nobody listens: the check (every 5 s) notices, listens again, wakes the relay
            const second = yield* append(1)
            assert.strictEqual(yield* deliveredWithin(second, "20 seconds"), second)
            // and the new LISTEN works: an append is relayed at once again (a 1 hour poll, and the next
            // check is seconds away)
            yield* Effect.sleep("100 millis")
            const third = yield* append(2)
            assert.strictEqual(yield* deliveredWithin(third, "3 seconds"), third)
            yield* Fiber.interrupt(worker)
          })
      )
    })

  it.effect("memory: an append signals the subscribers", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const signal = yield* OutboxSignal.OutboxSignal
      const next = yield* signal.subscribe
      const waiting = yield* Effect.fork(next)
      const id = "pay_01J9Z8X6Q2M4T7V3B5N8WKM000" as Ids.PaymentId
      yield* store.append(id, 0, [started(id)])
      yield* Fiber.join(waiting)
    }).pipe(Effect.scoped, Effect.provide(Database.layerMemory.pipe(Layer.provide(Ids.layerRandom))))
  )
})
