/**
 * The HTTP API over real HTTP on loopback: every endpoint's success and error codes, idempotent
 * replay, merchant isolation, and bad input as a documented 4xx that changes nothing.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as MemoryServer from "./support/memoryServer.js"

const KEY_A = "sk_test_merchant_a_0123456789"
const KEY_B = "sk_test_merchant_b_0123456789"
const CARD = "4242424242424242"

class Api extends Context.Tag("test/Api")<Api, { readonly url: string }>() {}

const ApiLive = Layer.scoped(
  Api,
  MemoryServer.serve("http", [
    [KEY_A, "merchant_a"],
    [KEY_B, "merchant_b"]
  ])
)

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: Record<string, unknown>
}

const call = (
  path: string,
  init: {
    method?: string
    key?: string | null
    body?: unknown
    raw?: string
    headers?: Record<string, string>
  } = {}
) =>
  Effect.flatMap(Api, ({ url }) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers: Record<string, string> = { ...init.headers }
      if (init.key !== null) headers["authorization"] = `Bearer ${init.key ?? KEY_A}`
      const body = init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined)
      if (body !== undefined) headers["content-type"] = "application/json"
      const res = await fetch(url + path, {
        method: init.method ?? (body !== undefined ? "POST" : "GET"),
        headers,
        ...(body !== undefined ? { body } : {})
      })
      const text = await res.text()
      let parsed: Record<string, unknown>
      try {
        parsed = JSON.parse(text) as Record<string, unknown>
      } catch {
        parsed = {}
      }
      return { status: res.status, headers: res.headers, text, body: parsed }
    })
  )

const create = (over: Record<string, unknown> = {}, card = CARD) => ({
  amount: 4990,
  currency: "EUR",
  customer: { id: "cus_http" },
  paymentMethod: { type: "card", card: { number: card, expMonth: 12, expYear: 2030, cvc: "123" } },
  ...over
})
const code = (r: Reply) => (r.body["error"] as { code?: string } | undefined)?.code

layer(ApiLive, { excludeTestServices: true, timeout: "60 seconds" })("HTTP API over loopback", (it) => {
  it.effect("create, replay, key reuse, get, merchant isolation, events", () =>
    Effect.gen(function* () {
      const first = yield* call("/v1/payments", { body: create(), headers: { "idempotency-key": "order-1" } })
      assert.strictEqual(first.status, 201)
      assert.strictEqual(first.body["status"], "succeeded")
      assert.deepStrictEqual(first.body["card"], { brand: "visa", last4: "4242" })
      assert.notInclude(first.text, CARD)
      const replay = yield* call("/v1/payments", {
        body: create(),
        headers: { "idempotency-key": "order-1" }
      })
      assert.strictEqual(replay.status, 201)
      assert.strictEqual(replay.text, first.text, "identical body")
      assert.strictEqual(replay.headers.get("idempotent-replayed"), "true")
      const reused = yield* call("/v1/payments", {
        body: create({ amount: 1 }),
        headers: { "idempotency-key": "order-1" }
      })
      assert.deepStrictEqual([reused.status, code(reused)], [422, "idempotency_key_reused"])
      const id = String(first.body["id"])
      assert.strictEqual((yield* call(`/v1/payments/${id}`)).status, 200)
      const stranger = yield* call(`/v1/payments/${id}`, { key: KEY_B })
      assert.deepStrictEqual([stranger.status, code(stranger)], [404, "payment_not_found"])
      assert.strictEqual((yield* call("/v1/payments/not-an-id")).status, 404)
      const events = yield* call(`/v1/payments/${id}/events`)
      assert.strictEqual(events.status, 200)
      const versions = (events.body["data"] as Array<{ version: number }>).map((e) => e.version)
      assert.deepStrictEqual(
        versions,
        versions.map((_, i) => i + 1)
      )
      assert.strictEqual((yield* call(`/v1/payments/${id}/events`, { key: KEY_B })).status, 404)
    })
  )

  it.effect("capture in part, capture again, cancel, refunds", () =>
    Effect.gen(function* () {
      const manual = yield* call("/v1/payments", { body: create({ captureMethod: "manual" }) })
      assert.strictEqual(manual.body["status"], "requires_capture")
      const id = String(manual.body["id"])
      const tooMuch = yield* call(`/v1/payments/${id}/capture`, { body: { amount: 5000 } })
      assert.deepStrictEqual([tooMuch.status, code(tooMuch)], [422, "amount_exceeds_authorized"])
      const captured = yield* call(`/v1/payments/${id}/capture`, { body: { amount: 3000 } })
      assert.deepStrictEqual([captured.status, captured.body["amountCaptured"]], [200, 3000])
      const again = yield* call(`/v1/payments/${id}/capture`, { body: {} })
      assert.deepStrictEqual([again.status, code(again)], [409, "invalid_state"])
      const cancelSucceeded = yield* call(`/v1/payments/${id}/cancel`, { method: "POST" })
      assert.strictEqual(cancelSucceeded.status, 409)
      const refund = yield* call(`/v1/payments/${id}/refunds`, {
        body: { amount: 1000, reason: "returned" },
        headers: { "idempotency-key": "rf-1" }
      })
      assert.deepStrictEqual(
        [refund.status, refund.body["status"], refund.body["amount"]],
        [201, "succeeded", 1000]
      )
      const refundReplay = yield* call(`/v1/payments/${id}/refunds`, {
        body: { amount: 1000, reason: "returned" },
        headers: { "idempotency-key": "rf-1" }
      })
      assert.strictEqual(refundReplay.text, refund.text)
      const over = yield* call(`/v1/payments/${id}/refunds`, { body: { amount: 2001 } })
      assert.deepStrictEqual([over.status, code(over)], [422, "amount_exceeds_refundable"])
      const other = yield* call("/v1/payments", { body: create({ captureMethod: "manual" }) })
      const cancelled = yield* call(`/v1/payments/${String(other.body["id"])}/cancel`, { method: "POST" })
      assert.deepStrictEqual([cancelled.status, cancelled.body["status"]], [200, "cancelled"])
      const notCaptured = yield* call(`/v1/payments/${String(other.body["id"])}/refunds`, { body: {} })
      assert.strictEqual(notCaptured.status, 409)
    })
  )

  it.effect("a decline is a 201 with status failed; list, analytics, gateway health, health, metrics", () =>
    Effect.gen(function* () {
      const declined = yield* call("/v1/payments", {
        body: create({ customer: { id: "cus_list" } }, "4000000000009995")
      })
      assert.deepStrictEqual([declined.status, declined.body["status"]], [201, "failed"])
      assert.strictEqual((declined.body["failure"] as { code: string }).code, "insufficient_funds")
      yield* call("/v1/payments", { body: create({ customer: { id: "cus_list" } }) })
      const page = yield* call("/v1/payments?customerId=cus_list&limit=1")
      assert.strictEqual((page.body["data"] as Array<unknown>).length, 1)
      const next = yield* call(
        `/v1/payments?customerId=cus_list&limit=1&cursor=${String(page.body["nextCursor"])}`
      )
      assert.strictEqual((next.body["data"] as Array<unknown>).length, 1)
      assert.strictEqual(next.body["nextCursor"], null)
      assert.strictEqual((yield* call("/v1/payments?limit=0")).status, 400)
      assert.strictEqual((yield* call("/v1/payments?status=bogus")).status, 400)
      assert.strictEqual((yield* call("/v1/payments?cursor=zzz")).status, 400)
      const stats = yield* call(`/v1/analytics?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`)
      assert.strictEqual(stats.status, 200)
      assert.isAbove(stats.body["count"] as number, 1)
      assert.strictEqual((yield* call("/v1/analytics?to=2100-01-01")).status, 400)
      const health = yield* call("/v1/gateways/health")
      const g = (health.body["data"] as Array<Record<string, unknown>>)[0]!
      assert.deepStrictEqual(Object.keys(g).sort(), [
        "circuitState",
        "errorRate",
        "gateway",
        "latency",
        "score",
        "successRate",
        "volume"
      ])
      assert.strictEqual((yield* call("/health/live", { key: null })).status, 200)
      assert.strictEqual((yield* call("/health/ready", { key: null })).status, 200)
      const metrics = yield* call("/metrics", { key: null })
      assert.include(metrics.text, "aegispay_payments_total")
    })
  )

  it.effect("bad input is the documented 4xx, never a 500, never echoes a card, and changes nothing", () =>
    Effect.gen(function* () {
      const before = yield* call("/v1/payments?customerId=cus_bad&limit=100")
      const cases: Array<[string, { body?: unknown; raw?: string; key?: string | null }, number, string]> = [
        ["malformed JSON", { raw: "{nope" }, 400, "invalid_json"],
        ["float amount", { body: create({ amount: 10.5 }) }, 400, "invalid_parameter"],
        ["negative amount", { body: create({ amount: -1 }) }, 400, "invalid_parameter"],
        ["string amount", { body: create({ amount: "100" }) }, 400, "invalid_parameter"],
        ["too large", { body: create({ amount: 2 ** 53 }) }, 400, "invalid_parameter"],
        ["unknown currency", { body: create({ currency: "XYZ" }) }, 400, "invalid_parameter"],
        ["lower-case currency", { body: create({ currency: "eur" }) }, 400, "invalid_parameter"],
        [
          "bad Luhn",
          { body: create({ customer: { id: "cus_bad" } }, "4242424242424241") },
          400,
          "invalid_parameter"
        ],
        [
          "oversize body",
          { raw: JSON.stringify({ ...create(), description: "x".repeat(1_100_000) }) },
          413,
          "body_too_large"
        ],
        ["missing key", { body: create(), key: null }, 401, "unauthorized"],
        ["wrong key", { body: create(), key: "sk_test_nobody_0123456789" }, 401, "unauthorized"]
      ]
      for (const [name, init, status, expected] of cases) {
        const r = yield* call("/v1/payments", init)
        assert.deepStrictEqual([r.status, code(r)], [status, expected], name)
        assert.notInclude(r.text, "4242424242424241", name)
        assert.isString((r.body["error"] as { message?: string }).message, name)
      }
      const luhn = yield* call("/v1/payments", { body: create({}, "4242424242424241") })
      assert.include((luhn.body["error"] as { message: string }).message, "paymentMethod.card.number")
      const after = yield* call("/v1/payments?customerId=cus_bad&limit=100")
      assert.strictEqual(after.text, before.text, "a rejected request changes nothing")
      assert.strictEqual((yield* call("/v1/nope")).status, 404)
    })
  )

  it.effect("X-Correlation-Id is echoed, or generated", () =>
    Effect.gen(function* () {
      const echoed = yield* call("/health/live", { key: null, headers: { "x-correlation-id": "corr-123" } })
      assert.strictEqual(echoed.headers.get("x-correlation-id"), "corr-123")
      const generated = yield* call("/v1/payments/pay_nothing", {})
      assert.match(generated.headers.get("x-correlation-id") ?? "", /^[0-9a-f-]{36}$/)
    })
  )
})
