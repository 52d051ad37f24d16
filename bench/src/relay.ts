/**
 * Outbox relay on the same PostgreSQL (`DATABASE_URL`), side by side in one run: AegisPay's SQL
 * relay (woken by LISTEN/NOTIFY, 1 s poll as fallback) publishing to an in-process publisher, and
 * @event-driven-io/emmett-postgresql's consumer with a reactor (it polls, every 50 ms by default).
 *
 * - drain: N events already appended, then the relay / consumer starts: events/s until all are
 *   published (pure relay throughput).
 * - live: N single-event appends, one after another, while the relay / consumer runs: latency
 *   from the append returning (committed) to the publisher seeing the event, p50 / p99 / max.
 *
 * Each contender works in a fresh schema dropped afterwards; bounded by RELAY_EVENTS.
 */
import { Card, Currency, Customer, EventStore, Ids, Money, type Outbox, PaymentEvent } from "@aegispay/core"
import { Relay, Testing } from "@aegispay/infra"
import { getPostgreSQLEventStore, postgreSQLEventStoreConsumer } from "@event-driven-io/emmett-postgresql"
import { build } from "hdr-histogram-js"
import { DateTime, Deferred, Effect, Fiber, Layer } from "effect"
import { performance } from "node:perf_hooks"
import { withSchema } from "./schema.js"

const EVENTS = Number(process.env["RELAY_EVENTS"] ?? 2000)

const initiated = (paymentId: Ids.PaymentId) =>
  new PaymentEvent.PaymentInitiated({
    paymentId,
    merchantId: "m_bench" as Ids.MerchantId,
    amount: Money.make(100n, Currency.make("EUR")),
    captureMethod: "automatic",
    customer: new Customer.Customer({ id: "c" as Ids.CustomerId }),
    card: new Card.CardSummary({ brand: "visa", last4: "4242", expMonth: 1, expYear: 2030 }),
    metadata: {},
    at: DateTime.unsafeMake(0)
  })
const id = (run: string, i: number) =>
  `pay_01J9Z8X6Q2M4T7V3B5${run}${String(i).padStart(7, "0")}` as Ids.PaymentId

interface Figures {
  readonly drainPerSecond: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

const histogram = () =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })

/** Our relay: `relay.run` forked, publishing to a callback that records arrival times. */
const ours = (url: string): Promise<Figures> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const appendedAt = new Map<string, number>()
      const latency = histogram()
      let seen = 0
      let target = 0
      let done = yield* Deferred.make<void>()
      const publisher: Outbox.Publisher["Type"] = {
        name: "bench",
        publish: (m) =>
          Effect.suspend(() => {
            const t = appendedAt.get(m.streamId)
            if (t !== undefined) latency.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)))
            seen += 1
            return seen === target ? Deferred.succeed(done, undefined) : Effect.void
          })
      }
      const relay = yield* Relay.make(publisher, { batchSize: 100 })

      // drain: everything appended first, then the relay starts
      for (let i = 0; i < EVENTS; i++) yield* store.append(id("D", i), 0, [initiated(id("D", i))])
      target = EVENTS
      const t0 = performance.now()
      const drain = yield* Effect.fork(relay.run)
      yield* Deferred.await(done)
      const drainMs = performance.now() - t0
      yield* Fiber.interrupt(drain)

      // live: appends while the relay runs
      seen = 0
      done = yield* Deferred.make<void>()
      const live = yield* Effect.fork(relay.run)
      yield* Effect.sleep("200 millis")
      for (let i = 0; i < EVENTS; i++) {
        const p = id("V", i)
        yield* store.append(p, 0, [initiated(p)])
        appendedAt.set(p, performance.now())
      }
      yield* Deferred.await(done)
      yield* Fiber.interrupt(live)
      return {
        drainPerSecond: (EVENTS / drainMs) * 1000,
        p50: latency.getValueAtPercentile(50) / 1000,
        p99: latency.getValueAtPercentile(99) / 1000,
        max: latency.maxValue / 1000
      }
    }).pipe(
      Effect.provide(
        Testing.layerPgThrowawaySchema(url, "aegispay_relay_bench").pipe(Layer.provide(Ids.layer))
      ),
      Effect.scoped
    )
  )

/** emmett: a consumer with one reactor, from the beginning (drain) or from now on (live). */
const emmett = (url: string): Promise<Figures> =>
  withSchema(url, "emmett_relay_bench", async (schemaUrl) => {
    const store = getPostgreSQLEventStore(schemaUrl)
    const suffix = `${process.pid}_${Date.now()}`
    await store.appendToStream(`warmup-${suffix}`, [{ type: "Warmup", data: {} }])
    for (let i = 0; i < EVENTS; i++) {
      await store.appendToStream(
        `drain-${suffix}-${i}`,
        [{ type: "PaymentInitiated", data: { amount: 100, currency: "EUR" } }],
        { expectedStreamVersion: 0n }
      )
    }
    const run = async (processorId: string, startFrom: "BEGINNING" | "CURRENT", prefix: string) => {
      let seen = 0
      let resolve: () => void = () => {}
      const all = new Promise<void>((r) => (resolve = r))
      const appendedAt = new Map<string, number>()
      const latency = histogram()
      const consumer = postgreSQLEventStoreConsumer({ connectionString: schemaUrl })
      consumer.reactor({
        processorId,
        startFrom: startFrom === "BEGINNING" ? "BEGINNING" : "CURRENT",
        eachMessage: async (message) => {
          const stream = (message.metadata as { streamName: string }).streamName
          if (!stream.startsWith(prefix)) return
          const t = appendedAt.get(stream)
          if (t !== undefined) latency.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)))
          seen += 1
          if (seen === EVENTS) resolve()
        }
      })
      const started = consumer.start()
      return { all, appendedAt, latency, consumer, started }
    }

    const t0 = performance.now()
    const drain = await run(`drain-${suffix}`, "BEGINNING", `drain-${suffix}`)
    await drain.all
    const drainMs = performance.now() - t0
    await drain.consumer.stop()
    await drain.consumer.close()

    const live = await run(`live-${suffix}`, "CURRENT", `live-${suffix}`)
    await new Promise((r) => setTimeout(r, 200))
    for (let i = 0; i < EVENTS; i++) {
      const stream = `live-${suffix}-${i}`
      await store.appendToStream(
        stream,
        [{ type: "PaymentInitiated", data: { amount: 100, currency: "EUR" } }],
        { expectedStreamVersion: 0n }
      )
      live.appendedAt.set(stream, performance.now())
    }
    await live.all
    await live.consumer.stop()
    await live.consumer.close()
    await store.close()
    return {
      drainPerSecond: (EVENTS / drainMs) * 1000,
      p50: live.latency.getValueAtPercentile(50) / 1000,
      p99: live.latency.getValueAtPercentile(99) / 1000,
      max: live.latency.maxValue / 1000
    }
  })

export const run = async (): Promise<void> => {
  const url = process.env["DATABASE_URL"]
  if (!url) {
    console.log("relay: set DATABASE_URL (PostgreSQL) to run this suite")
    return
  }
  const a = await ours(url)
  const e = await emmett(url)
  const n = (x: number) => Math.round(x).toLocaleString("en")
  const ms = (x: number) => x.toFixed(2)
  console.log(`\n### Outbox relay on PostgreSQL to an in-process publisher\n`)
  console.log(
    `drain: ${EVENTS.toLocaleString("en")} events appended, then the relay starts; live: ${EVENTS.toLocaleString("en")} sequential single-event appends while it runs, latency from the append returning to the publisher.\n`
  )
  console.log(`| relay | drain: events/s | live p50 ms | live p99 ms | live max ms |`)
  console.log(`|---|---:|---:|---:|---:|`)
  console.log(
    `| aegispay Relay (LISTEN/NOTIFY, 1 s poll fallback, batch 100) | ${n(a.drainPerSecond)} | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(a.max)} |`
  )
  console.log(
    `| emmett-postgresql 0.42.0 consumer + reactor (polls every 50 ms, batch 100) | ${n(e.drainPerSecond)} | ${ms(e.p50)} | ${ms(e.p99)} | ${ms(e.max)} |`
  )
}
