/**
 * Event appends per second on the same PostgreSQL (`DATABASE_URL`), side by side in one run:
 * AegisPay's SQL EventStore (which also writes the read model and one outbox row per event in the
 * same transaction) and @event-driven-io/emmett-postgresql. Single-event appends to fresh streams,
 * and batches of 10 events per append. Each store works in its own fresh schema/database objects;
 * bounded by APPENDS. The appends are split into ROUNDS that alternate between the two stores (and
 * which goes first), so a shared machine's load swings weigh on both alike.
 */
import { Card, Currency, Customer, EventStore, Ids, Money, PaymentEvent } from "@aegispay/core"
import { Testing } from "@aegispay/infra"
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql"
import { DateTime, Effect, Layer, ManagedRuntime } from "effect"
import { performance } from "node:perf_hooks"
import { withSchema } from "./schema.js"

const APPENDS = Number(process.env["BENCH_APPENDS"] ?? 2000)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5)
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

/** Appends streams [from, to) of one kind and returns the milliseconds taken. */
type Contender = (kind: "single" | "batched", from: number, to: number) => Promise<number>

export const run = async (): Promise<void> => {
  const url = process.env["DATABASE_URL"]
  if (!url) {
    console.log("eventstore: set DATABASE_URL (PostgreSQL) to run this suite")
    return
  }
  const runtime = ManagedRuntime.make(
    Testing.layerPgThrowawaySchema(url, "aegispay_bench").pipe(Layer.provide(Ids.layer))
  )
  const totals = { ours: { single: 0, batched: 0 }, emmett: { single: 0, batched: 0 } }
  try {
    const store = await runtime.runPromise(EventStore.EventStore)
    const ours: Contender = (kind, from, to) =>
      runtime.runPromise(
        Effect.gen(function* () {
          const t0 = performance.now()
          for (let i = from; i < to; i++) {
            const p = id(kind === "single" ? "S" : "B", i)
            yield* store.append(
              p,
              0,
              kind === "single"
                ? [initiated(p)]
                : [initiated(p), ...Array.from({ length: BATCH - 1 }, (_, k) => authenticated(k))]
            )
          }
          return performance.now() - t0
        })
      )
    // emmett works in a fresh schema of its own too (its SQL is unqualified), dropped afterwards, so
    // nothing it creates (emt_* tables and functions, dmb_migrations) is left in public
    await withSchema(url, "emmett_bench", async (emmettUrl) => {
      const emmett = getPostgreSQLEventStore(emmettUrl)
      const suffix = `${process.pid}_${Date.now()}`
      const theirs: Contender = async (kind, from, to) => {
        const t0 = performance.now()
        for (let i = from; i < to; i++) {
          await emmett.appendToStream(
            `bench-${suffix}-${kind === "single" ? "s" : "b"}-${i}`,
            kind === "single"
              ? [{ type: "PaymentInitiated", data: { amount: 100, currency: "EUR" } }]
              : Array.from({ length: BATCH }, (_, k): { type: string; data: Record<string, unknown> } => ({
                  type: k === 0 ? "PaymentInitiated" : "PaymentAuthenticated",
                  data: { k }
                })),
            { expectedStreamVersion: 0n }
          )
        }
        return performance.now() - t0
      }
      try {
        // one untimed append each first: emmett creates its tables on first use (ours are created by
        // migrations on start), and each session prepares its statements once
        await emmett.appendToStream(`bench-${suffix}-warmup`, [{ type: "Warmup", data: {} }])
        await ours("single", APPENDS, APPENDS + 1)
        for (const kind of ["single", "batched"] as const) {
          const appends = kind === "single" ? APPENDS : APPENDS / BATCH
          for (let r = 0; r < ROUNDS; r++) {
            const from = Math.floor((appends * r) / ROUNDS)
            const to = Math.floor((appends * (r + 1)) / ROUNDS)
            const order = r % 2 === 0 ? (["ours", "emmett"] as const) : (["emmett", "ours"] as const)
            for (const who of order)
              totals[who][kind] += await (who === "ours" ? ours : theirs)(kind, from, to)
          }
        }
      } finally {
        await emmett.close()
      }
    })
  } finally {
    await runtime.dispose()
  }
  const rate = (events: number, ms: number) => Math.round((events / ms) * 1000).toLocaleString("en")
  const { emmett, ours } = totals
  console.log(`\n### Event appends on PostgreSQL (sequential, one connection's worth of work)\n`)
  console.log(
    `${APPENDS.toLocaleString("en")} single-event appends and ${(APPENDS / BATCH).toLocaleString("en")} appends of ${BATCH} events, each to a new stream, in ${ROUNDS} rounds alternating between the stores.\n`
  )
  console.log(`| store | single: events/s | batched: events/s |`)
  console.log(`|---|---:|---:|`)
  console.log(
    `| aegispay (events + read model + outbox rows, one statement) | ${rate(APPENDS, ours.single)} | ${rate(APPENDS, ours.batched)} |`
  )
  console.log(
    `| emmett-postgresql 0.42.0 (events only) | ${rate(APPENDS, emmett.single)} | ${rate(APPENDS, emmett.batched)} |`
  )
  console.log(
    `| ratio aegispay / emmett | ${(emmett.single / ours.single).toFixed(2)}x | ${(emmett.batched / ours.batched).toFixed(2)}x |`
  )
}
