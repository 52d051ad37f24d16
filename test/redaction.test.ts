/**
 * Redaction, end to end: a full run over HTTP with one known card number and CVC (payments,
 * manual capture, refund, cancel, a rejected request, an idempotency replay and mismatch, event
 * reads), then a scan of everything the system wrote: every log line (captured raw, before the
 * JSON logger's last-line PAN masking), every span (name, attributes, events), every published
 * outbox message (payload and headers), every HTTP answer, and every row of every table. Neither
 * the card number nor the CVC may appear anywhere; the brand and last four digits may.
 */
import { Outbox } from "@aegispay/core"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Inspectable, Schedule } from "effect"
import * as Stack from "./support/stack.js"

const PAN = "4000056655665556"
const CVC = "7391"

/** The CVC as a whole token: not inside a longer run of letters or digits (an id, a timestamp). */
const cvcToken = new RegExp(`(?<![0-9A-Za-z])${CVC}(?![0-9A-Za-z])`)

const leaks = (where: string, texts: ReadonlyArray<string>): ReadonlyArray<string> =>
  texts.flatMap((text, i) => {
    const found: Array<string> = []
    if (text.includes(PAN)) found.push(`${where}[${i}] holds the card number`)
    if (cvcToken.test(text)) found.push(`${where}[${i}] holds the CVC: ${text.slice(0, 300)}`)
    return found
  })

const run = (backend: Stack.Backend) =>
  Effect.gen(function* () {
    const stack = yield* Stack.start(backend)
    const { context, exporter, lines, published } = stack
    const answers: Array<string> = []
    const call = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
      Effect.tap(Stack.call(stack, path, body, { "x-correlation-id": "redaction-run", ...headers }), (r) =>
        answers.push(r.text)
      )
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
  for (const backend of Stack.backends) {
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
