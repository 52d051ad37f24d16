/**
 * Event appends per second on the same PostgreSQL (`DATABASE_URL`), side by side in one run:
 * AegisPay's SQL EventStore (which also writes the read model and one outbox row per event in the
 * same transaction) and @event-driven-io/emmett-postgresql. Single-event appends to fresh streams,
 * and batches of 10 events per append. Each store works in its own fresh schema/database objects;
 * bounded by APPENDS.
 */
import { Card, Currency, Customer, EventStore, Ids, Money, PaymentEvent } from "@aegispay/core"
import { Testing } from "@aegispay/infra"
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql"
import { DateTime, Effect, Layer } from "effect"
import { performance } from "node:perf_hooks"
import { withSchema } from "./schema.js"

const APPENDS = Number(process.env["BENCH_APPENDS"] ?? 2000)
const BATCH = 10

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
const authenticated = (n: number) => new PaymentEvent.PaymentAuthenticated({ at: DateTime.unsafeMake(n) })
const id = (run: string, i: number) =>
  `pay_01J9Z8X6Q2M4T7V3B5${run}${String(i).padStart(7, "0")}` as Ids.PaymentId

export const run = async (): Promise<void> => {
  const url = process.env["DATABASE_URL"]
  if (!url) {
    console.log("eventstore: set DATABASE_URL (PostgreSQL) to run this suite")
    return
  }
  const ours = await Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const t0 = performance.now()
      for (let i = 0; i < APPENDS; i++) {
        const p = id("S", i)
        yield* store.append(p, 0, [initiated(p)])
      }
      const single = performance.now() - t0
      const t1 = performance.now()
      for (let i = 0; i < APPENDS / BATCH; i++) {
        const p = id("B", i)
        yield* store.append(p, 0, [
          initiated(p),
          ...Array.from({ length: BATCH - 1 }, (_, k) => authenticated(k))
        ])
      }
      const batched = performance.now() - t1
      return { single, batched }
    }).pipe(
      Effect.provide(Testing.layerPgThrowawaySchema(url, "aegispay_bench").pipe(Layer.provide(Ids.layer))),
      Effect.scoped
    )
  )

  // emmett works in a fresh schema of its own too (its SQL is unqualified), dropped afterwards, so
  // nothing it creates (emt_* tables and functions, dmb_migrations) is left in public
  const { eSingle, eBatched } = await withSchema(url, "emmett_bench", async (emmettUrl) => {
    const emmett = getPostgreSQLEventStore(emmettUrl)
    const suffix = `${process.pid}_${Date.now()}`
    // emmett creates its tables on first use: not timed (ours are created by migrations on start)
    await emmett.appendToStream(`bench-${suffix}-warmup`, [{ type: "Warmup", data: {} }])
    const t0 = performance.now()
    for (let i = 0; i < APPENDS; i++) {
      await emmett.appendToStream(
        `bench-${suffix}-s-${i}`,
        [{ type: "PaymentInitiated", data: { amount: 100, currency: "EUR" } }],
        {
          expectedStreamVersion: 0n
        }
      )
    }
    const eSingle = performance.now() - t0
    const t1 = performance.now()
    for (let i = 0; i < APPENDS / BATCH; i++) {
      await emmett.appendToStream(
        `bench-${suffix}-b-${i}`,
        Array.from({ length: BATCH }, (_, k) => ({
          type: k === 0 ? "PaymentInitiated" : "PaymentAuthenticated",
          data: { k }
        })),
        { expectedStreamVersion: 0n }
      )
    }
    const eBatched = performance.now() - t1
    await emmett.close()
    return { eSingle, eBatched }
  })
  const rate = (events: number, ms: number) => Math.round((events / ms) * 1000).toLocaleString("en")
  console.log(`\n### Event appends on PostgreSQL (sequential, one connection's worth of work)\n`)
  console.log(
    `${APPENDS.toLocaleString("en")} single-event appends and ${(APPENDS / BATCH).toLocaleString("en")} appends of ${BATCH} events, each to a new stream.\n`
  )
  console.log(`| store | single: events/s | batched: events/s |`)
  console.log(`|---|---:|---:|`)
  console.log(
    `| aegispay (events + read model + outbox rows, one statement) | ${rate(APPENDS, ours.single)} | ${rate(APPENDS, ours.batched)} |`
  )
  console.log(
    `| emmett-postgresql 0.42.0 (events only) | ${rate(APPENDS, eSingle)} | ${rate(APPENDS, eBatched)} |`
  )
  console.log(
    `| ratio aegispay / emmett | ${(eSingle / ours.single).toFixed(2)}x | ${(eBatched / ours.batched).toFixed(2)}x |`
  )
}
