/**
 * Event appends per second on the same PostgreSQL (`DATABASE_URL`), side by side in one run:
 * AegisPay's SQL EventStore (which also writes the read model and one outbox row per event in the
 * same transaction) and @event-driven-io/emmett-postgresql. Single-event appends to fresh streams,
 * batches of 10 events per append, both one after another, and single-event appends CONCURRENCY
 * at a time (each store through a pool of 10 connections). Both stores get the same events (emmett
 * as `{ type, data }` with the event's JSON encoding as data), built before each timed round. Each store works in its own fresh schema/database objects;
 * bounded by APPENDS. The appends are split into ROUNDS that alternate between the two stores (and
 * which goes first), so a shared machine's load swings weigh on both alike.
 */
import { Card, Currency, Customer, EventStore, Ids, Money, PaymentEvent } from "@aegispay/core"
import { Testing } from "@aegispay/infra"
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql"
import { DateTime, Effect, Layer, ManagedRuntime, Schema } from "effect"
import { performance } from "node:perf_hooks"
import { withSchema } from "./schema.js"

const APPENDS = Number(process.env["BENCH_APPENDS"] ?? 2000)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5)
const BATCH = 10
/** Appends in flight at once in the concurrent mode (each to its own new stream). */
const CONCURRENCY = Number(process.env["BENCH_CONCURRENCY"] ?? 32)

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
const encodeEvent = Schema.encodeSync(PaymentEvent.PaymentEvent)
const id = (run: string, i: number) =>
  `pay_01J9Z8X6Q2M4T7V3B5${run}${String(i).padStart(7, "0")}` as Ids.PaymentId

type Kind = "single" | "batched" | "concurrent"
/** Appends streams [from, to) of one kind and returns the milliseconds taken. */
type Contender = (kind: Kind, from: number, to: number) => Promise<number>

const events = (kind: Kind, p: Ids.PaymentId) =>
  kind === "batched"
    ? [initiated(p), ...Array.from({ length: BATCH - 1 }, (_, k) => authenticated(k))]
    : [initiated(p)]

/** Runs `body(i)` for i in [from, to), `CONCURRENCY` at a time. */
const pool = async (from: number, to: number, body: (i: number) => Promise<unknown>) => {
  let next = from
  const worker = async () => {
    while (next < to) await body(next++)
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

export const run = async (): Promise<void> => {
  const url = process.env["DATABASE_URL"]
  if (!url) {
    console.log("eventstore: set DATABASE_URL (PostgreSQL) to run this suite")
    return
  }
  const runtime = ManagedRuntime.make(
    Testing.layerPgThrowawaySchema(url, "aegispay_bench").pipe(Layer.provide(Ids.layer))
  )
  const totals = {
    ours: { single: 0, batched: 0, concurrent: 0 },
    emmett: { single: 0, batched: 0, concurrent: 0 }
  }
  try {
    const store = await runtime.runPromise(EventStore.EventStore)
    // each contender's input (events of the same kinds and content) is built before its clock starts
    const ours: Contender = (kind, from, to) =>
      runtime.runPromise(
        Effect.gen(function* () {
          const letter = kind === "single" ? "S" : kind === "batched" ? "B" : "C"
          const inputs = Array.from({ length: to - from }, (_, k) => {
            const p = id(letter, from + k)
            return [p, events(kind, p)] as const
          })
          const t0 = performance.now()
          yield* Effect.forEach(inputs, ([p, evs]) => store.append(p, 0, evs), {
            concurrency: kind === "concurrent" ? CONCURRENCY : 1,
            discard: true
          })
          return performance.now() - t0
        })
      )
    // emmett works in a fresh schema of its own too (its SQL is unqualified), dropped afterwards, so
    // nothing it creates (emt_* tables and functions, dmb_migrations) is left in public
    await withSchema(url, "emmett_bench", async (emmettUrl) => {
      const emmett = getPostgreSQLEventStore(emmettUrl)
      const suffix = `${process.pid}_${Date.now()}`
      const theirs: Contender = async (kind, from, to) => {
        // the same events as ours, as emmett's { type, data } with data the event's JSON encoding
        const inputs = Array.from({ length: to - from }, (_, k) =>
          events(kind, id("E", from + k)).map((e) => ({ type: e._tag, data: encodeEvent(e) }))
        )
        const t0 = performance.now()
        const one = (i: number) =>
          emmett.appendToStream(`bench-${suffix}-${kind[0]}-${i}`, inputs[i - from]!, {
            expectedStreamVersion: 0n
          })
        if (kind === "concurrent") await pool(from, to, one)
        else for (let i = from; i < to; i++) await one(i)
        return performance.now() - t0
      }
      try {
        // one untimed append each first: emmett creates its tables on first use (ours are created by
        // migrations on start), and each session prepares its statements once
        await emmett.appendToStream(`bench-${suffix}-warmup`, [{ type: "Warmup", data: {} }])
        await ours("single", APPENDS, APPENDS + 1)
        for (const kind of ["single", "batched", "concurrent"] as const) {
          const appends = kind === "batched" ? APPENDS / BATCH : APPENDS
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
  const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString("en")
  const { emmett, ours } = totals
  console.log(`\n### Event appends on PostgreSQL\n`)
  console.log(
    `${APPENDS.toLocaleString("en")} single-event appends one after another, ${(APPENDS / BATCH).toLocaleString("en")} appends of ${BATCH} events one after another, and ${APPENDS.toLocaleString("en")} single-event appends ${CONCURRENCY} at a time; each to a new stream, in ${ROUNDS} rounds alternating between the stores. Figures are events per second.\n`
  )
  console.log(
    `| store | single, sequential | ${BATCH}-event, sequential | single, ${CONCURRENCY} concurrent |`
  )
  console.log(`|---|---:|---:|---:|`)
  console.log(
    `| aegispay (events + read model + outbox rows, one transaction) | ${rate(APPENDS, ours.single)} | ${rate(APPENDS, ours.batched)} | ${rate(APPENDS, ours.concurrent)} |`
  )
  console.log(
    `| emmett-postgresql 0.42.0 (events only) | ${rate(APPENDS, emmett.single)} | ${rate(APPENDS, emmett.batched)} | ${rate(APPENDS, emmett.concurrent)} |`
  )
  console.log(
    `| ratio aegispay / emmett | ${(emmett.single / ours.single).toFixed(2)}x | ${(emmett.batched / ours.batched).toFixed(2)}x | ${(emmett.concurrent / ours.concurrent).toFixed(2)}x |`
  )
}
