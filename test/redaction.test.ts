/**
 * Redaction, end to end: a full run over HTTP with one known card number and CVC (payments,
 * manual capture, refund, cancel, a rejected request, an idempotency replay and mismatch, event
 * reads), then a scan of everything the system wrote: every log line (captured raw, before the
 * JSON logger's last-line PAN masking), every span (name, attributes, events), every published
 * outbox message (payload and headers), every HTTP answer, and every row of every table. Neither
 * the card number nor the CVC may appear anywhere; the brand and last four digits may.
 */
import { Gateway, Ids, Outbox } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Server } from "@aegispay/http"
import { Database, Relay, Testing } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { AegisPay, GatewayGuard, Telemetry } from "aegispay"
import {
  Cause,
  Context,
  Effect,
  HashMap,
  Inspectable,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Schedule
} from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const PAN = "4000056655665556"
const CVC = "7391"
const KEY = "sk_test_redaction_0123456789"

/** The CVC as a whole token: not inside a longer run of letters or digits (an id, a timestamp). */
const cvcToken = new RegExp(`(?<![0-9A-Za-z])${CVC}(?![0-9A-Za-z])`)

const leaks = (where: string, texts: ReadonlyArray<string>): ReadonlyArray<string> =>
  texts.flatMap((text, i) => {
    const found: Array<string> = []
    if (text.includes(PAN)) found.push(`${where}[${i}] holds the card number`)
    if (cvcToken.test(text)) found.push(`${where}[${i}] holds the CVC: ${text.slice(0, 300)}`)
    return found
  })

type Backend = "PGlite" | "PostgreSQL"
const backends: ReadonlyArray<Backend> = process.env["DATABASE_URL"] ? ["PGlite", "PostgreSQL"] : ["PGlite"]

const storesFor = (backend: Backend) => {
  if (backend === "PostgreSQL") {
    return Testing.layerPgThrowawaySchema(process.env["DATABASE_URL"]!, "aegispay_redaction").pipe(
      Layer.provide(Ids.layer)
    )
  }
  return Layer.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "aegispay-redaction-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ),
      (dataDir) => Database.layerPglite({ dataDir }).pipe(Layer.provide(Ids.layer))
    )
  )
}

const run = (backend: Backend) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const published: Array<Outbox.OutboxMessage> = []
    const exporter = new InMemorySpanExporter()
    // every log line at every level, raw: message, annotations and cause, nothing masked
    const capture = Logger.make(({ annotations, cause, message }) => {
      lines.push(
        Inspectable.stringifyCircular({
          message,
          annotations: Object.fromEntries(HashMap.toEntries(annotations)),
          cause: Cause.isEmpty(cause) ? undefined : Cause.pretty(cause, { renderErrorCause: true })
        })
      )
    })
    const logging = Layer.merge(
      Logger.replace(Logger.defaultLogger, capture),
      Logger.minimumLogLevel(LogLevel.All)
    )

    const sim = Context.get(yield* Layer.build(Simulator.layer({ name: "redaction" })), Simulator.Simulator)
    const stripe = yield* Stripe.make({
      id: "sim-redaction" as Ids.GatewayId,
      baseUrl: sim.url,
      apiKey: Redacted.make("sk_test_redaction_psp")
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const relay = Layer.scopedDiscard(
      Effect.gen(function* () {
        const worker = yield* Relay.make(
          { name: "capture", publish: (message) => Effect.sync(() => void published.push(message)) },
          { pollInterval: "20 millis" }
        )
        yield* Effect.forkScoped(worker.run)
      })
    )
    const stores = Layer.provideMerge(relay, storesFor(backend))
    const app = AegisPay.compose(
      {
        stores,
        gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([stripe])),
        guard: GatewayGuard.layer()
      },
      { reconciler: { background: false } }
    )
    const context = yield* Layer.build(
      Server.layer({
        port: 0,
        host: "127.0.0.1",
        apiKeys: new Map([[KEY, "merchant_r"]]),
        devKey: Option.none()
      }).pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            app,
            stores,
            Telemetry.layer({ serviceName: "redaction", spanProcessors: [new SimpleSpanProcessor(exporter)] })
          )
        ),
        Layer.provide(logging)
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const url = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`

    const answers: Array<string> = []
    const call = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
      Effect.promise(async () => {
        const res = await fetch(url + path, {
          method: body === undefined ? "GET" : "POST",
          headers: {
            authorization: `Bearer ${KEY}`,
            "content-type": "application/json",
            "x-correlation-id": "redaction-run",
            ...headers
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {})
        })
        const text = await res.text()
        answers.push(text)
        return { status: res.status, body: JSON.parse(text) as Record<string, unknown> }
      })
    const card = { number: PAN, expMonth: 12, expYear: 2031, cvc: CVC, holderName: "Ada Lovelace" }
    const payment = (over: Record<string, unknown> = {}) => ({
      amount: 1234,
      currency: "USD",
      customer: { id: "cus_redaction", email: "ada@example.com", country: "GB" },
      paymentMethod: { type: "card", card },
      metadata: { order: "o-1" },
      ...over
    })

    const paid = yield* call("/v1/payments", payment(), { "idempotency-key": "redaction-1" })
    assert.strictEqual(paid.status, 201)
    assert.strictEqual(paid.body["status"], "succeeded")
    assert.deepStrictEqual(paid.body["card"], { brand: "visa", last4: "5556" })
    const replay = yield* call("/v1/payments", payment(), { "idempotency-key": "redaction-1" })
    assert.strictEqual(replay.status, 201)
    const mismatch = yield* call("/v1/payments", payment({ amount: 99 }), {
      "idempotency-key": "redaction-1"
    })
    assert.strictEqual(mismatch.status, 422)
    const id = String(paid.body["id"])
    const refund = yield* call(`/v1/payments/${id}/refunds`, { amount: 234, reason: "requested" })
    assert.strictEqual(refund.status, 201)
    const manual = yield* call("/v1/payments", payment({ captureMethod: "manual" }))
    assert.strictEqual(manual.body["status"], "requires_capture")
    assert.strictEqual(
      (yield* call(`/v1/payments/${String(manual.body["id"])}/capture`, { amount: 1000 })).status,
      200
    )
    const voided = yield* call("/v1/payments", payment({ captureMethod: "manual" }))
    assert.strictEqual((yield* call(`/v1/payments/${String(voided.body["id"])}/cancel`, {})).status, 200)
    // rejected requests carrying the card: a bad expiry, a bad currency, a pinned unknown gateway
    const badExpiry = yield* call(
      "/v1/payments",
      payment({ paymentMethod: { type: "card", card: { ...card, expMonth: 13 } } })
    )
    assert.strictEqual(badExpiry.status, 400)
    assert.strictEqual((yield* call("/v1/payments", payment({ currency: "XXQ" }))).status, 400)
    const unknownGateway = yield* call("/v1/payments", payment({ gateway: "nowhere" }))
    assert.deepStrictEqual(
      [unknownGateway.status, unknownGateway.body["status"]],
      [201, "failed"],
      "pinned to an unknown gateway: recorded as failed, the routing decision in its events"
    )
    assert.strictEqual((yield* call(`/v1/payments/${id}/events`)).status, 200)
    assert.strictEqual((yield* call("/v1/payments?customerId=cus_redaction")).status, 200)

    // wait (bounded) until the relay has published every outbox row
    const outbox = Context.get(context, Outbox.Outbox)
    yield* outbox.backlog.pipe(
      Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (b) => b.pending === 0 }),
      Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the relay did not drain") })
    )

    const sql = Context.get(context, SqlClient.SqlClient)
    const tables = yield* sql<{ readonly table_name: string }>`
      SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
    const rows: Array<string> = []
    for (const { table_name } of tables) {
      const dump = yield* sql.unsafe<{ readonly row: string }>(
        `SELECT row_to_json(t)::text AS row FROM "${table_name}" t`
      )
      for (const r of dump) rows.push(`${table_name}: ${r.row}`)
    }
    const spans = exporter.getFinishedSpans().map((s) =>
      Inspectable.stringifyCircular({
        name: s.name,
        attributes: s.attributes,
        events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
        status: s.status
      })
    )
    const messages = published.map((m) => JSON.stringify({ payload: m.payload, headers: m.headers }))
    return { lines, spans, rows, messages, answers, tables: tables.map((t) => t.table_name) }
  })

describe("redaction: a known card number and CVC appear nowhere after a full run", () => {
  for (const backend of backends) {
    it.scopedLive(
      `${backend}: logs, spans, events, outbox messages, HTTP answers, every table`,
      () =>
        Effect.gen(function* () {
          const { answers, lines, messages, rows, spans, tables } = yield* run(backend)
          // the scan is only worth something if it saw the things it scans
          assert.includeMembers(tables, ["events", "outbox", "payments"])
          assert.isAbove(lines.length, 10, "log lines captured")
          assert.isAbove(spans.length, 20, "spans captured")
          assert.isAbove(messages.length, 5, "outbox messages published")
          assert.isTrue(
            rows.some((r) => r.startsWith("events:") && r.includes("5556")),
            "events hold the last four digits"
          )
          assert.isTrue(
            messages.some((m) => m.includes("redaction-run")),
            "outbox headers carry the correlation id"
          )
          const found = [
            ...leaks("log", lines),
            ...leaks("span", spans),
            ...leaks("row", rows),
            ...leaks("message", messages),
            ...leaks("answer", answers)
          ]
          assert.deepStrictEqual(found, [])
        }),
      120_000
    )
  }
})
