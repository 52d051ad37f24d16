import { Card, Currency, Customer, type Gateway, type Ids, Money } from "@aegispay/core"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Redacted, Schema } from "effect"
import * as Razorpay from "../src/Razorpay.js"
import {
  assertCardOutcomes,
  assertNoSecretIn,
  assertOutcome,
  attemptKey,
  jsonReply,
  localStandIn
} from "./support/standIn.js"
import type { RecordedRequest, StandInAnswer } from "./support/standIn.js"

const KEY_ID = "rzp_test_1DP5mmOlF5G5ag"
const SECRET = "thisIsTheRazorpayKeySecret42"
const CARD = "4111111111111111"
const id = "razorpay-test" as Ids.GatewayId
const inr = (amount: bigint) => Money.make(amount, Currency.make("INR"))
const request = (
  n: number,
  number = CARD,
  captureMethod: "automatic" | "manual" = "automatic"
): Gateway.AuthorizeRequest => ({
  idempotencyKey: attemptKey(n),
  amount: inr(50_000n),
  captureMethod,
  paymentMethod: {
    _tag: "Card",
    card: Schema.decodeUnknownSync(Card.CardDetails)({ number, expMonth: 3, expYear: 2030, cvc: "123" })
  },
  customer: new Customer.Customer({ id: "cust_1" as Ids.CustomerId, email: "a@example.com" }),
  metadata: { contact: "+919000090000" }
})

const errorBody = (code: string, description: string, reason: string, step = "NA", paymentId?: string) => ({
  error: {
    code,
    description,
    source: step === "NA" ? "NA" : "customer",
    step,
    reason,
    field: null,
    metadata: paymentId !== undefined ? { payment_id: paymentId, order_id: "order_x" } : {}
  }
})

/** Card numbers the fake declines, with Razorpay's error reason. */
const declines: Record<string, [string, string]> = {
  "4000000000009995": ["insufficient_funds", "Payment failed due to insufficient balance"],
  "4000000000000069": ["card_expired", "Your payment has been declined as the card is expired"],
  "4000000000000002": ["payment_failed", "Payment failed"],
  "4000000000000119": ["bank_technical_error", "Payment failed due to a technical error at the bank"]
}
const THREE_DS = "4000000000003220"

/**
 * A fake Razorpay on 127.0.0.1, port 0, keeping orders and payments in memory. `fault` may answer
 * a request first ("lost" performs it, then never answers).
 */
const fakeRazorpay = (
  fault: (request: RecordedRequest, n: number) => StandInAnswer | "lost" | undefined = () => undefined
) =>
  Effect.gen(function* () {
    const orders = new Map<string, Record<string, unknown>>()
    const payments = new Map<string, Record<string, unknown>>()
    const auth = `Basic ${Buffer.from(`${KEY_ID}:${SECRET}`).toString("base64")}`
    const handle = (r: RecordedRequest): StandInAnswer => {
      if (r.headers.authorization !== auth) {
        return { status: 401, body: errorBody("BAD_REQUEST_ERROR", "Authentication failed", "NA") }
      }
      const url = new URL(r.path, "http://x")
      const body = r.body.length > 0 ? (JSON.parse(r.body) as Record<string, unknown>) : {}
      const collection = (items: Array<unknown>) => ({ entity: "collection", count: items.length, items })
      if (r.method === "GET" && url.pathname === "/v1/orders") {
        const receipt = url.searchParams.get("receipt")
        return {
          status: 200,
          body: collection([...orders.values()].filter((o) => receipt === null || o["receipt"] === receipt))
        }
      }
      if (r.method === "POST" && url.pathname === "/v1/orders") {
        const order = {
          id: `order_${orders.size + 1}`,
          entity: "order",
          amount: body["amount"],
          amount_paid: 0,
          currency: body["currency"],
          receipt: body["receipt"],
          status: "created",
          attempts: 0,
          notes: body["notes"],
          created_at: 1_700_000_000,
          capture: body["payment_capture"]
        }
        orders.set(order.id, order)
        return { status: 200, body: order }
      }
      const orderPayments = url.pathname.match(/^\/v1\/orders\/([^/]+)\/payments$/)
      if (r.method === "GET" && orderPayments) {
        return {
          status: 200,
          body: collection([...payments.values()].filter((p) => p["order_id"] === orderPayments[1]))
        }
      }
      if (r.method === "POST" && url.pathname === "/v1/payments/create/json") {
        const order = orders.get(String(body["order_id"]))
        if (!order)
          return {
            status: 400,
            body: errorBody("BAD_REQUEST_ERROR", "The id provided does not exist", "NA")
          }
        const number = String((body["card"] as Record<string, unknown> | undefined)?.["number"] ?? "")
        const paymentId = `pay_${payments.size + 1}`
        const decline = declines[number]
        const status = decline
          ? "failed"
          : number === THREE_DS
            ? "created"
            : order["capture"]
              ? "captured"
              : "authorized"
        payments.set(paymentId, {
          id: paymentId,
          entity: "payment",
          amount: body["amount"],
          currency: body["currency"],
          status,
          order_id: order["id"],
          method: "card",
          captured: status === "captured",
          amount_refunded: 0,
          error_code: decline ? "BAD_REQUEST_ERROR" : null,
          error_description: decline ? decline[1] : null,
          error_source: decline ? "customer" : null,
          error_step: decline ? "payment_authorization" : null,
          error_reason: decline ? decline[0] : null,
          created_at: 1_700_000_000 + payments.size
        })
        if (decline) {
          return {
            status: 400,
            body: errorBody("BAD_REQUEST_ERROR", decline[1], decline[0], "payment_authorization", paymentId)
          }
        }
        return {
          status: 200,
          body: {
            razorpay_payment_id: paymentId,
            next: [
              { action: "redirect", url: `https://api.razorpay.com/v1/payments/${paymentId}/authenticate` }
            ]
          }
        }
      }
      const payment = url.pathname.match(/^\/v1\/payments\/([^/]+)(?:\/(capture|refund))?$/)
      const p = payment ? payments.get(payment[1]!) : undefined
      if (payment && !p)
        return { status: 400, body: errorBody("BAD_REQUEST_ERROR", "The id provided does not exist", "NA") }
      if (payment && p && r.method === "GET" && payment[2] === undefined) return { status: 200, body: p }
      if (payment && p && payment[2] === "capture") {
        if (p["status"] !== "authorized") {
          return {
            status: 400,
            body: errorBody("BAD_REQUEST_ERROR", "This payment has already been captured", "NA")
          }
        }
        Object.assign(p, { status: "captured", captured: true })
        return { status: 200, body: p }
      }
      if (payment && p && payment[2] === "refund") {
        Object.assign(p, { amount_refunded: Number(p["amount_refunded"]) + Number(body["amount"]) })
        return {
          status: 200,
          body: {
            id: "rfnd_1",
            entity: "refund",
            amount: body["amount"],
            currency: "INR",
            payment_id: p["id"],
            notes: body["notes"],
            receipt: null,
            status: "processed",
            speed_processed: "normal",
            created_at: 1_700_000_100
          }
        }
      }
      return {
        status: 404,
        body: errorBody("BAD_REQUEST_ERROR", "The requested URL was not found on the server.", "NA")
      }
    }
    const { requests, url } = yield* localStandIn((recorded, n) => {
      const injected = fault(recorded, n)
      return injected === "lost"
        ? (handle(recorded), "hang")
        : jsonReply(injected ?? handle(recorded), "application/json; charset=UTF-8")
    })
    return { url, requests, payments }
  })

const withRazorpay = <A, E>(
  f: (
    razorpay: Gateway.Gateway,
    requests: ReadonlyArray<RecordedRequest>,
    payments: Map<string, Record<string, unknown>>
  ) => Effect.Effect<A, E>,
  options: {
    readonly fault?: (request: RecordedRequest, n: number) => StandInAnswer | "lost" | undefined
    readonly timeout?: Duration.DurationInput
    readonly secret?: string
  } = {}
) =>
  Effect.gen(function* () {
    const { payments, requests, url } = yield* fakeRazorpay(options.fault)
    const razorpay = yield* Razorpay.make({
      id,
      baseUrl: url,
      keyId: KEY_ID,
      keySecret: Redacted.make(options.secret ?? SECRET),
      timeout: options.timeout ?? "2 seconds"
    })
    return yield* f(razorpay, requests, payments)
  }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

/** No error carries the secret or the card number. */
const assertClean = (e: unknown, secret = SECRET) => assertNoSecretIn([e], [secret, CARD])

const jsonOf = (r: RecordedRequest | undefined): Record<string, unknown> => JSON.parse(r?.body ?? "{}")
const route = (r: RecordedRequest) => `${r.method} ${r.path}`
const creates = (requests: ReadonlyArray<RecordedRequest>) =>
  requests.filter(
    (r) => r.method === "POST" && (r.path === "/v1/orders" || r.path === "/v1/payments/create/json")
  )

describe("Razorpay adapter against a local fake of its API", () => {
  it.live(
    "authorize: receipt lookup, order, S2S card payment, payment fetch; Basic auth; automatic is captured",
    () =>
      withRazorpay((razorpay, requests) =>
        Effect.gen(function* () {
          const ok = yield* razorpay.authorize(request(1))
          assert.deepStrictEqual(
            [ok.status, ok.gatewayReference, ok.amountAuthorized, ok.amountCaptured, ok.pspRequestId],
            ["captured", "pay_1", 50_000n, 50_000n, "pay_1"]
          )
          assert.deepStrictEqual(requests.map(route), [
            `GET /v1/orders?receipt=${encodeURIComponent(attemptKey(1))}`,
            "POST /v1/orders",
            "POST /v1/payments/create/json",
            "GET /v1/payments/pay_1"
          ])
          for (const r of requests) {
            assert.strictEqual(
              r.headers.authorization,
              `Basic ${Buffer.from(`${KEY_ID}:${SECRET}`).toString("base64")}`
            )
          }
          const order = jsonOf(requests[1])
          assert.deepStrictEqual(
            [order["amount"], order["currency"], order["receipt"], order["payment_capture"]],
            [50_000, "INR", attemptKey(1), true]
          )
          const payment = jsonOf(requests[2])
          assert.deepStrictEqual(
            [payment["order_id"], payment["method"], payment["email"], payment["contact"]],
            ["order_1", "card", "a@example.com", "+919000090000"]
          )
          assert.deepStrictEqual(payment["card"], {
            number: CARD,
            expiry_month: "03",
            expiry_year: "30",
            cvv: "123"
          })
          const manual = yield* razorpay.authorize(request(2, CARD, "manual"))
          assert.deepStrictEqual([manual.status, manual.amountCaptured], ["authorized", 0n])
          const threeDs = yield* razorpay.authorize(request(3, THREE_DS))
          assert.strictEqual(threeDs.status, "pending")
        })
      )
  )

  it.live("the receipt dedupes: the same attempt key returns the first payment and creates nothing", () =>
    withRazorpay((razorpay, requests) =>
      Effect.gen(function* () {
        const first = yield* razorpay.authorize(request(4))
        const again = yield* razorpay.authorize(request(4))
        assert.deepStrictEqual([again.gatewayReference, again.status], [first.gatewayReference, "captured"])
        assert.strictEqual(creates(requests).length, 2, "one order and one payment")
        yield* assertOutcome(
          razorpay.authorize({ ...request(4), amount: inr(1n) }),
          "Misconfigured:idempotency_mismatch"
        )
      })
    )
  )

  it.live(
    "declines map by error reason; a retried attempt replays its decline; status finds it Declined",
    () =>
      withRazorpay((razorpay, requests) =>
        Effect.gen(function* () {
          const outcomes: Array<[string, string]> = [
            ["4000000000009995", "HardDecline:insufficient_funds"],
            ["4000000000000069", "HardDecline:card_expired"],
            ["4000000000000002", "SoftDecline:payment_failed"],
            ["4000000000000119", "SoftDecline:bank_technical_error"]
          ]
          yield* assertCardOutcomes(
            (n, number) => razorpay.authorize(request(n, number)),
            10,
            outcomes,
            (error, i) => {
              assert.deepStrictEqual([error.httpStatus, error.pspRequestId], [400, `pay_${i + 1}`])
              assertClean(error)
            }
          )
          const before = creates(requests).length
          yield* assertOutcome(
            razorpay.authorize(request(10, "4000000000009995")),
            "HardDecline:insufficient_funds"
          )
          assert.strictEqual(creates(requests).length, before, "no new order or payment")
          const found = yield* razorpay.status(attemptKey(11))
          assert.strictEqual(
            found._tag === "Declined" ? `${found.error._tag}:${found.error.code}` : found._tag,
            "HardDecline:card_expired"
          )
        })
      )
  )

  it.live("429 with Retry-After is Retryable with the delay", () =>
    withRazorpay(
      (razorpay) =>
        Effect.gen(function* () {
          const r = yield* assertOutcome(razorpay.authorize(request(20)), "Retryable:rate_limited")
          if (Either.isLeft(r) && r.left._tag === "Retryable") {
            assert.deepStrictEqual(r.left.retryAfter, Duration.seconds(2))
            assert.strictEqual(r.left.httpStatus, 429)
          }
        }),
      {
        fault: () => ({
          status: 429,
          headers: { "retry-after": "2" },
          body: errorBody("BAD_REQUEST_ERROR", "Too many requests", "NA")
        })
      }
    )
  )

  it.live("a 500 on the payment call is Ambiguous and not retried blindly; on a lookup it is Retryable", () =>
    withRazorpay(
      (razorpay, requests) =>
        Effect.gen(function* () {
          const r = yield* assertOutcome(razorpay.authorize(request(21)), "Ambiguous:server_error_500")
          if (Either.isLeft(r)) assert.strictEqual(r.left.httpStatus, 500)
          assert.strictEqual(requests.filter((x) => x.path === "/v1/payments/create/json").length, 1)
          assert.deepStrictEqual(yield* razorpay.status(attemptKey(21)), { _tag: "NotFound" })
          yield* assertOutcome(razorpay.authorize(request(22)), "Retryable:server_error_502")
        }),
      {
        fault: (r) =>
          r.path === "/v1/payments/create/json"
            ? { status: 500, body: errorBody("SERVER_ERROR", "The server encountered an error.", "NA") }
            : r.path.includes(encodeURIComponent(attemptKey(22)))
              ? { status: 502, body: "Bad Gateway" }
              : undefined
      }
    )
  )

  it.live("a wrong secret is Misconfigured and no error carries the secret or the card", () =>
    withRazorpay(
      (razorpay) =>
        Effect.gen(function* () {
          const r = yield* assertOutcome(
            razorpay.authorize(request(23)),
            "Misconfigured:authentication_failed"
          )
          if (Either.isLeft(r)) {
            assert.strictEqual(r.left.httpStatus, 401)
            assertClean(r.left, "wrongSecretValue99")
          }
          const refund = yield* assertOutcome(
            razorpay.refund({ gatewayReference: "pay_1", amount: inr(1n), idempotencyKey: "re_0123456789" }),
            "Misconfigured:authentication_failed"
          )
          assertClean(Either.isLeft(refund) ? refund.left : {}, "wrongSecretValue99")
          assert.isFalse((yield* razorpay.health).reachable)
        }),
      { secret: "wrongSecretValue99" }
    )
  )

  it.live("no answer to the payment call is Ambiguous; no answer to a lookup is Retryable", () =>
    withRazorpay(
      (razorpay) =>
        Effect.gen(function* () {
          const r = yield* assertOutcome(razorpay.authorize(request(24)), "Ambiguous:timeout")
          assertClean(Either.isLeft(r) ? r.left : {})
          yield* assertOutcome(razorpay.authorize(request(25)), "Retryable:timeout")
        }),
      {
        timeout: "200 millis",
        fault: (r) =>
          r.path === "/v1/payments/create/json" || r.path.includes(encodeURIComponent(attemptKey(25)))
            ? "hang"
            : undefined
      }
    )
  )

  it.live("a 2xx body that does not decode is Ambiguous", () =>
    withRazorpay(
      (razorpay) =>
        Effect.gen(function* () {
          yield* assertOutcome(razorpay.authorize(request(26)), "Ambiguous:unparseable_success")
          yield* assertOutcome(razorpay.authorize(request(27)), "Ambiguous:unparseable_success")
        }),
      {
        fault: (r) =>
          r.path === "/v1/payments/create/json"
            ? { status: 200, body: "<html>maintenance</html>" }
            : r.path.includes(encodeURIComponent(attemptKey(27)))
              ? { status: 200, body: { entity: "collection", items: "nope" } }
              : undefined
      }
    )
  )

  it.live(
    "capture (and its replay), void of an authorization, void of a capture, refund with its idempotency header",
    () =>
      withRazorpay((razorpay, requests) =>
        Effect.gen(function* () {
          const auth = yield* razorpay.authorize(request(30, CARD, "manual"))
          const captured = yield* razorpay.capture({
            gatewayReference: auth.gatewayReference,
            amount: inr(50_000n),
            idempotencyKey: "pay_x:capture"
          })
          assert.deepStrictEqual([captured.status, captured.amountCaptured], ["captured", 50_000n])
          assert.deepStrictEqual(jsonOf(requests.find((r) => r.path.endsWith("/capture"))), {
            amount: 50_000,
            currency: "INR"
          })
          const replay = yield* razorpay.capture({
            gatewayReference: auth.gatewayReference,
            amount: inr(50_000n),
            idempotencyKey: "pay_x:capture"
          })
          assert.strictEqual(replay.status, "captured")
          yield* assertOutcome(
            razorpay.void({ gatewayReference: auth.gatewayReference, idempotencyKey: "pay_x:void" }),
            "Misconfigured:already_captured"
          )
          const other = yield* razorpay.authorize(request(31, CARD, "manual"))
          const voided = yield* razorpay.void({
            gatewayReference: other.gatewayReference,
            idempotencyKey: "pay_y:void"
          })
          assert.deepStrictEqual([voided.status, voided.amountCaptured], ["pending", 0n])
          const refund = yield* razorpay.refund({
            gatewayReference: auth.gatewayReference,
            amount: inr(20_000n),
            idempotencyKey: "pay_x:refund:1",
            reason: "requested_by_customer"
          })
          assert.deepStrictEqual(
            [refund.status, refund.amount, refund.gatewayReference],
            ["succeeded", 20_000n, "rfnd_1"]
          )
          const sent = requests.find((r) => r.path.endsWith("/refund"))!
          assert.strictEqual(
            sent.headers["x-refund-idempotency"],
            `k-${Buffer.from("pay_x:refund:1").toString("hex")}`
          )
          assert.strictEqual(jsonOf(sent)["amount"], 20_000)
        })
      )
  )

  it.live(
    "a lost reply is Ambiguous; status finds the payment by receipt; replaying the key pays nothing more",
    () =>
      withRazorpay(
        (razorpay, requests, payments) =>
          Effect.gen(function* () {
            assert.deepStrictEqual(yield* razorpay.status(attemptKey(40)), { _tag: "NotFound" })
            yield* assertOutcome(razorpay.authorize(request(40)), "Ambiguous:timeout")
            const found = yield* razorpay.status(attemptKey(40))
            assert.strictEqual(found._tag === "Found" ? found.payment.status : found._tag, "captured")
            const replay = yield* razorpay.authorize(request(40))
            assert.strictEqual(replay.status, "captured")
            assert.strictEqual(payments.size, 1, "one payment for the attempt key")
            assert.strictEqual(requests.filter((r) => r.path === "/v1/payments/create/json").length, 1)
          }),
        {
          timeout: "200 millis",
          fault: (r) => (r.path === "/v1/payments/create/json" ? "lost" : undefined)
        }
      )
  )

  it.live("health reads one order", () =>
    withRazorpay((razorpay, requests) =>
      Effect.gen(function* () {
        assert.isTrue((yield* razorpay.health).reachable)
        assert.strictEqual(route(requests[0]!), "GET /v1/orders?count=1")
      })
    )
  )
})
