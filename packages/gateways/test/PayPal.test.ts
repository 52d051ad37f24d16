import { Card, type Ids } from "@aegispay/core"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Redacted, Schema, TestClock } from "effect"
import * as PayPal from "../src/PayPal.js"
import {
  assertCardOutcomes,
  assertFoundPayment,
  assertNoSecretIn,
  assertOutcome,
  attemptKey,
  failureOf,
  localStandIn,
  usd,
  usdCardPayment
} from "./support/standIn.js"
import type { RecordedRequest, StandInAnswer, StandInReply } from "./support/standIn.js"

const CLIENT_ID = "AcL13nt-1d-paypal-7f3a"
const SECRET = "EKs3cr3t-paypal-9c1e-do-not-leak"
const id = "paypal-test" as Ids.GatewayId
const card = (number: string) =>
  Schema.decodeUnknownSync(Card.CardDetails)({
    number,
    expMonth: 3,
    expYear: 2030,
    cvc: "123",
    holderName: "Ada Lovelace"
  })
const request = (
  n: number,
  number = "4111111111111111",
  captureMethod: "automatic" | "manual" = "automatic"
) => usdCardPayment(n, card(number), captureMethod)

/** What a test makes the fake do instead of answering normally ("lose": process, then never answer). */
type Override = (r: RecordedRequest) => StandInAnswer | "lose" | undefined

interface Amount {
  readonly currency_code: string
  readonly value: string
}
interface PaymentRecord {
  readonly id: string
  status: string
  readonly amount: Amount
  readonly processor_response?: { readonly response_code: string }
}
interface Unit {
  readonly custom_id?: string
  readonly description?: string
  readonly amount: Amount
  payments?: {
    authorizations?: Array<PaymentRecord>
    captures?: Array<PaymentRecord>
    refunds?: Array<PaymentRecord>
  }
}
interface OrderRecord {
  readonly id: string
  readonly intent: string
  status: string
  readonly payment_source?: unknown
  readonly purchase_units: [Unit]
}
/** The request bodies the fake reads (parsed JSON). */
interface Body {
  readonly intent: string
  readonly purchase_units: [Unit]
  readonly payment_source?: { readonly card?: { readonly number?: string } }
  readonly amount: Amount
  readonly final_capture?: boolean
}

/** The knobs a test turns on the fake, and what it reads back. */
interface Controls {
  readonly orders: Map<string, OrderRecord>
  expiresIn: number
  tokensIssued: number
  override: Override
  tokenOverride: (r: RecordedRequest) => StandInAnswer | undefined
  revokeTokens: () => void
}
interface Fake extends Controls {
  readonly url: string
  readonly requests: ReadonlyArray<RecordedRequest>
}

let counter = 0
const nextId = (prefix: string) => `${prefix}-${++counter}`

/** A PayPal sandbox stand-in on loopback, answering PayPal's documented shapes. */
const fakePayPal = Effect.gen(function* () {
  const valid = new Set<string>()
  const idempotent = new Map<string, StandInReply>()
  const fake: Controls = {
    orders: new Map(),
    expiresIn: 32_400,
    tokensIssued: 0,
    override: () => undefined,
    tokenOverride: () => undefined,
    revokeTokens: () => valid.clear()
  }
  const debugId = () => `dbg${++counter}`
  const respond = (a: StandInReply): StandInReply => ({
    status: a.status,
    headers: {
      ...(a.body !== undefined ? { "content-type": "application/json" } : {}),
      "paypal-debug-id": debugId(),
      ...a.headers
    },
    body: a.body
  })
  const error = (status: number, name: string, issue?: string, extra: object = {}): StandInReply => ({
    status,
    body: {
      name,
      message: "The requested action could not be performed.",
      debug_id: `body-${debugId()}`,
      details: issue !== undefined ? [{ issue, description: `${issue} happened` }] : [],
      ...extra
    }
  })
  const findByPayment = (kind: "authorizations" | "captures", pid: string) => {
    for (const order of fake.orders.values()) {
      const found = (order.purchase_units[0].payments?.[kind] ?? []).find((x) => x.id === pid)
      if (found) return { order, found }
    }
    return undefined
  }

  const route = (r: RecordedRequest): StandInReply => {
    const body = (r.body.length > 0 ? JSON.parse(r.body) : {}) as Body
    let m: RegExpExecArray | null
    if (r.method === "POST" && r.path === "/v2/checkout/orders") {
      const unit = body.purchase_units[0]
      const number: string | undefined = body.payment_source?.card?.number
      if (number === "4000000000000069") return error(422, "UNPROCESSABLE_ENTITY", "CARD_EXPIRED")
      if (number === "4000000000000127") return error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")
      const order: OrderRecord = {
        id: nextId("ORDER"),
        intent: body.intent,
        status: body.payment_source ? "COMPLETED" : "CREATED",
        ...(body.payment_source ? { payment_source: { card: { last_digits: number?.slice(-4) } } } : {}),
        purchase_units: [{ ...unit }]
      }
      if (body.payment_source && body.intent === "AUTHORIZE") order.status = "APPROVED"
      if (body.payment_source && body.intent === "CAPTURE") {
        const code =
          number === "4000000000000002" ? "0500" : number === "4000000000009995" ? "5120" : undefined
        order.purchase_units[0].payments = {
          captures: [
            {
              id: nextId("CAP"),
              status: code ? "DECLINED" : "COMPLETED",
              amount: unit.amount,
              ...(code ? { processor_response: { response_code: code } } : {})
            }
          ]
        }
      }
      fake.orders.set(order.id, order)
      return { status: 201, body: order }
    }
    if (r.method === "POST" && (m = /^\/v2\/checkout\/orders\/([^/]+)\/authorize$/.exec(r.path))) {
      const order = fake.orders.get(m[1]!)
      if (!order) return error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
      order.status = "COMPLETED"
      order.purchase_units[0].payments = {
        authorizations: [{ id: nextId("AUTH"), status: "CREATED", amount: order.purchase_units[0].amount }]
      }
      return { status: 201, body: order }
    }
    if (r.method === "GET" && (m = /^\/v2\/checkout\/orders\/([^/]+)$/.exec(r.path))) {
      const order = fake.orders.get(m[1]!)
      return order ? { status: 200, body: order } : error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
    }
    if (r.method === "POST" && (m = /^\/v2\/payments\/authorizations\/([^/]+)\/capture$/.exec(r.path))) {
      const hit = findByPayment("authorizations", m[1]!)
      if (!hit) return error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
      if (hit.found.status !== "CREATED") return error(422, "UNPROCESSABLE_ENTITY", "AUTHORIZATION_VOIDED")
      hit.found.status = body.final_capture ? "CAPTURED" : "PARTIALLY_CAPTURED"
      const capture = { id: nextId("CAP"), status: "COMPLETED", amount: body.amount }
      hit.order.purchase_units[0].payments = {
        ...hit.order.purchase_units[0].payments,
        captures: [capture]
      }
      return { status: 201, body: capture }
    }
    if (r.method === "POST" && (m = /^\/v2\/payments\/authorizations\/([^/]+)\/void$/.exec(r.path))) {
      const hit = findByPayment("authorizations", m[1]!)
      if (!hit) return error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
      hit.found.status = "VOIDED"
      return { status: 204 }
    }
    if (r.method === "POST" && (m = /^\/v2\/payments\/captures\/([^/]+)\/refund$/.exec(r.path))) {
      const hit = findByPayment("captures", m[1]!)
      if (!hit) return error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
      const refund = { id: nextId("REF"), status: "COMPLETED", amount: body.amount }
      const payments = (hit.order.purchase_units[0].payments ??= {})
      payments.refunds = [...(payments.refunds ?? []), refund]
      return { status: 201, body: refund }
    }
    return error(404, "RESOURCE_NOT_FOUND")
  }

  const handle = (r: RecordedRequest): StandInAnswer => {
    if (r.path === "/v1/oauth2/token") {
      const special = fake.tokenOverride(r)
      if (special === "hang") return "hang"
      if (special !== undefined) return respond(special)
      const expected = `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString("base64")}`
      if (r.headers.authorization !== expected || r.body !== "grant_type=client_credentials") {
        return respond({
          status: 401,
          body: { error: "invalid_client", error_description: "Client Authentication failed" }
        })
      }
      const token = `A21AA.token-${++fake.tokensIssued}`
      valid.add(token)
      return respond({
        status: 200,
        body: {
          scope: "https://uri.paypal.com/services/payments",
          access_token: token,
          token_type: "Bearer",
          app_id: "APP-1",
          expires_in: fake.expiresIn,
          nonce: "n"
        }
      })
    }
    const bearer = /^Bearer (.+)$/.exec(r.headers.authorization ?? "")?.[1]
    if (bearer === undefined || !valid.has(bearer)) {
      return respond({
        status: 401,
        body: {
          name: "AUTHENTICATION_FAILURE",
          message: "Authentication failed due to invalid authentication credentials.",
          links: []
        }
      })
    }
    const special = fake.override(r)
    if (special === "hang") return "hang"
    if (special !== undefined && special !== "lose") return respond(special)
    const requestId = r.headers["paypal-request-id"]
    const replayKey = typeof requestId === "string" && r.method === "POST" ? requestId : undefined
    const answer = (replayKey !== undefined ? idempotent.get(replayKey) : undefined) ?? route(r)
    if (replayKey !== undefined && answer.status < 500) idempotent.set(replayKey, answer)
    if (special === "lose") return "hang" // processed, but the reply never leaves
    return respond(answer)
  }
  const standIn = yield* localStandIn(handle)
  return Object.assign(fake, { url: standIn.url, requests: standIn.requests }) satisfies Fake
})

const gateway = (fake: Fake, options: Partial<PayPal.Config> = {}) =>
  PayPal.make({
    id,
    baseUrl: fake.url,
    clientId: Redacted.make(CLIENT_ID),
    clientSecret: Redacted.make(SECRET),
    timeout: "2 seconds",
    ...options
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** No error carries the credentials, a token, a card number or a CVC. */
const assertNoSecrets = (errors: ReadonlyArray<unknown>) =>
  assertNoSecretIn(errors, [SECRET, CLIENT_ID, "A21AA.token", "4111111111111111", "4000000000009995", '123"'])

const apiCalls = (fake: Fake) => fake.requests.filter((r) => r.path !== "/v1/oauth2/token")

describe("PayPal adapter against a local PayPal stand-in", () => {
  it.scopedLive("creates an order with the attempt key and maps card outcomes", () =>
    Effect.gen(function* () {
      const fake = yield* fakePayPal
      const paypal = yield* gateway(fake)
      const ok = yield* paypal.authorize(request(1))
      assert.strictEqual(ok.status, "captured")
      assert.strictEqual(ok.amountCaptured, 2_000n)
      assert.match(ok.gatewayReference, /^ORDER-/)
      assert.match(ok.pspRequestId ?? "", /^dbg/)
      const create = fake.requests.find((r) => r.path === "/v2/checkout/orders")!
      assert.strictEqual(create.headers["paypal-request-id"], attemptKey(1))
      assert.strictEqual(create.headers["prefer"], "return=representation")
      const sent = JSON.parse(create.body)
      assert.deepStrictEqual(sent.purchase_units[0], {
        reference_id: attemptKey(1),
        custom_id: attemptKey(1),
        amount: { currency_code: "USD", value: "20.00" }
      })
      assert.deepStrictEqual(sent.payment_source.card, {
        number: "4111111111111111",
        expiry: "2030-03",
        security_code: "123",
        name: "Ada Lovelace"
      })
      assert.strictEqual(sent.intent, "CAPTURE")

      const outcomes: Array<[string, string]> = [
        ["4000000000000002", "SoftDecline:do_not_honor"],
        ["4000000000009995", "HardDecline:insufficient_funds"],
        ["4000000000000069", "HardDecline:card_expired"],
        ["4000000000000127", "SoftDecline:instrument_declined"]
      ]
      const errors = yield* assertCardOutcomes(
        (n, number) => paypal.authorize(request(n, number)),
        10,
        outcomes,
        (error) => {
          assert.isDefined(error.pspRequestId)
          assert.isDefined(error.httpStatus)
        }
      )
      assertNoSecrets(errors)
    })
  )

  it.scopedLive("manual capture, partial capture, refund, void and status", () =>
    Effect.gen(function* () {
      const fake = yield* fakePayPal
      const paypal = yield* gateway(fake)
      const auth = yield* paypal.authorize(request(2, "4111111111111111", "manual"))
      assert.deepStrictEqual([auth.status, auth.amountAuthorized], ["authorized", 2_000n])
      const step = fake.requests.find((r) => r.path.endsWith("/authorize"))!
      assert.strictEqual(step.headers["paypal-request-id"], `${attemptKey(2)}:authorize`)

      const captured = yield* paypal.capture({
        gatewayReference: auth.gatewayReference,
        amount: usd(1_500n),
        idempotencyKey: "cap-2"
      })
      assert.deepStrictEqual([captured.status, captured.amountCaptured], ["captured", 1_500n])
      const captureCall = fake.requests.find((r) => r.path.endsWith("/capture"))!
      assert.strictEqual(captureCall.headers["paypal-request-id"], "cap-2")
      assert.deepStrictEqual(JSON.parse(captureCall.body), {
        amount: { currency_code: "USD", value: "15.00" },
        final_capture: true
      })

      const refund = yield* paypal.refund({
        gatewayReference: auth.gatewayReference,
        amount: usd(500n),
        idempotencyKey: "re-2"
      })
      assert.deepStrictEqual([refund.status, refund.amount], ["succeeded", 500n])
      assert.match(refund.gatewayReference, /^REF-/)

      assertFoundPayment(yield* paypal.status(attemptKey(2)), ["captured", 1_500n, 500n])

      const other = yield* paypal.authorize(request(3, "4111111111111111", "manual"))
      const voided = yield* paypal.void({
        gatewayReference: other.gatewayReference,
        idempotencyKey: "void-3"
      })
      assert.strictEqual(voided.status, "voided")
      const after = yield* paypal.status(attemptKey(3))
      assert.strictEqual(after._tag === "Found" ? after.payment.status : after._tag, "voided")

      // an attempt PayPal never saw: the probe creates no payment and the answer is NotFound
      assert.deepStrictEqual(yield* paypal.status(attemptKey(99)), { _tag: "NotFound" })
      const probe = [...fake.orders.values()].find((o) => o.purchase_units[0].custom_id === attemptKey(99))
      assert.isUndefined(probe?.payment_source)
      assert.strictEqual(probe?.purchase_units[0].description, PayPal.statusProbeDescription)

      yield* assertOutcome(paypal.authorize(request(4, "4000000000009995")), "HardDecline:insufficient_funds")
      const lookup = yield* paypal.status(attemptKey(4))
      assert.strictEqual(lookup._tag === "Declined" ? lookup.error._tag : lookup._tag, "HardDecline")

      const health = yield* paypal.health
      assert.isTrue(health.reachable)
    })
  )

  it.scopedLive("a lost reply is Ambiguous; status re-sends the create with the same request id", () =>
    Effect.gen(function* () {
      const fake = yield* fakePayPal
      const paypal = yield* gateway(fake, { timeout: "200 millis" })
      fake.override = (r) => (r.path === "/v2/checkout/orders" ? "lose" : undefined)
      yield* assertOutcome(paypal.authorize(request(5)), "Ambiguous:timeout")
      fake.override = () => undefined
      const found = yield* paypal.status(attemptKey(5))
      assert.strictEqual(found._tag === "Found" ? found.payment.status : found._tag, "captured")
      const creates = fake.requests.filter((r) => r.path === "/v2/checkout/orders")
      assert.deepStrictEqual(
        creates.map((r) => r.headers["paypal-request-id"]),
        [attemptKey(5), attemptKey(5)]
      )
      assert.strictEqual(fake.orders.size, 1, "one order for the attempt key")
    })
  )

  it.scopedLive("429, 5xx, timeouts and malformed bodies", () =>
    Effect.gen(function* () {
      const fake = yield* fakePayPal
      const paypal = yield* gateway(fake, { timeout: "200 millis" })
      const errors: Array<unknown> = []
      const run = (n: number, override: Override) =>
        Effect.gen(function* () {
          fake.override = override
          const r = yield* Effect.either(paypal.authorize(request(n)))
          fake.override = () => undefined
          if (Either.isLeft(r)) errors.push(r.left)
          return r
        })

      const limited = yield* run(20, () => ({
        status: 429,
        headers: { "retry-after": "7" },
        body: { name: "RATE_LIMIT_REACHED", message: "Too many requests.", debug_id: "rl-1" }
      }))
      assert.strictEqual(failureOf(limited), "Retryable:rate_limited")
      if (Either.isLeft(limited) && limited.left._tag === "Retryable") {
        assert.strictEqual(limited.left.httpStatus, 429)
        assert.strictEqual(limited.left.retryAfter?.pipe(Duration.toMillis), 7_000)
      }

      const before = apiCalls(fake).length
      const broken = yield* run(21, () => ({
        status: 500,
        body: {
          name: "INTERNAL_SERVER_ERROR",
          message: "An internal server error occurred.",
          debug_id: "ise-1"
        }
      }))
      assert.strictEqual(failureOf(broken), "Ambiguous:server_error_500")
      const retried = apiCalls(fake).slice(before)
      assert.strictEqual(retried.length, 3, "the first try and two retries")
      assert.isTrue(retried.every((r) => r.headers["paypal-request-id"] === attemptKey(21)))
      assert.match(Either.isLeft(broken) ? (broken.left.pspRequestId ?? "") : "", /^dbg/)

      assert.strictEqual(failureOf(yield* run(22, () => "hang")), "Ambiguous:timeout")
      assert.strictEqual(
        failureOf(yield* run(23, () => ({ status: 201, body: "{not json" }))),
        "Ambiguous:unparseable_success"
      )
      assert.strictEqual(
        failureOf(
          yield* run(24, () => ({
            status: 201,
            body: {
              id: "ORDER-X",
              status: "COMPLETED",
              purchase_units: [{ amount: { currency_code: "USD", value: "twenty" } }]
            }
          }))
        ),
        "Ambiguous:unparseable_success"
      )
      assert.strictEqual(
        failureOf(
          yield* run(25, () => ({
            status: 400,
            body: {
              name: "INVALID_REQUEST",
              debug_id: "bad-1",
              details: [{ issue: "INVALID_PARAMETER_VALUE", description: "card 4111111111111111 invalid" }]
            }
          }))
        ),
        "Misconfigured:invalid_parameter_value"
      )
      // a read that fails on the server moved no money: Retryable, not Ambiguous
      yield* paypal.authorize(request(26))
      fake.override = (r) =>
        r.method === "GET"
          ? { status: 503, body: { name: "SERVICE_UNAVAILABLE", debug_id: "su-1" } }
          : undefined
      const lookup = yield* Effect.either(paypal.status(attemptKey(26)))
      fake.override = () => undefined
      assert.strictEqual(failureOf(lookup), "Retryable:server_error_503")
      assertNoSecrets(errors)
    })
  )

  it.scopedLive(
    "the token is cached across calls, refreshed once on a 401, and a second 401 is Misconfigured",
    () =>
      Effect.gen(function* () {
        const fake = yield* fakePayPal
        const paypal = yield* gateway(fake)
        yield* paypal.authorize(request(30))
        yield* paypal.authorize(request(31))
        yield* paypal.status(attemptKey(30))
        assert.strictEqual(fake.tokensIssued, 1)

        fake.revokeTokens()
        const ok = yield* paypal.authorize(request(32))
        assert.strictEqual(ok.status, "captured")
        assert.strictEqual(fake.tokensIssued, 2)

        fake.override = (r) =>
          r.path === "/v2/checkout/orders"
            ? {
                status: 401,
                body: {
                  name: "AUTHENTICATION_FAILURE",
                  message: "Authentication failed.",
                  debug_id: "auth-1"
                }
              }
            : undefined
        const denied = yield* assertOutcome(
          paypal.authorize(request(33)),
          "Misconfigured:authentication_failed"
        )
        assert.strictEqual(fake.tokensIssued, 3, "one refresh, not a loop")
        if (Either.isLeft(denied)) assert.strictEqual(denied.left.httpStatus, 401)
        assertNoSecrets(Either.isLeft(denied) ? [denied.left] : [])
      })
  )

  it.scoped("the token is refreshed before it expires (TestClock)", () =>
    Effect.gen(function* () {
      const fake = yield* fakePayPal
      fake.expiresIn = 600
      const paypal = yield* gateway(fake, { tokenRefreshMargin: "60 seconds" })
      yield* paypal.status(attemptKey(40))
      yield* TestClock.adjust("500 seconds")
      yield* paypal.status(attemptKey(40))
      assert.strictEqual(fake.tokensIssued, 1, "still fresh at 500 s")
      yield* TestClock.adjust("45 seconds")
      yield* paypal.status(attemptKey(40))
      assert.strictEqual(fake.tokensIssued, 2, "refreshed within the margin before 600 s")
    })
  )

  it.scopedLive(
    "wrong credentials are Misconfigured and never leak; token endpoint failures are Retryable",
    () =>
      Effect.gen(function* () {
        const fake = yield* fakePayPal
        const wrong = yield* gateway(fake, { clientSecret: Redacted.make("EKwrong-secret-abc") })
        const r = yield* assertOutcome(wrong.authorize(request(50)), "Misconfigured:authentication_failed")
        if (Either.isLeft(r)) {
          assert.strictEqual(r.left.httpStatus, 401)
          assert.notInclude(`${r.left.message} ${JSON.stringify(r.left)}`, "EKwrong-secret-abc")
        }
        assertNoSecrets(Either.isLeft(r) ? [r.left] : [])
        assert.isFalse((yield* wrong.health).reachable)

        // the token call cannot charge anything: its 5xx and its timeout are Retryable
        const paypal = yield* gateway(fake, { timeout: "200 millis" })
        fake.tokenOverride = () => ({ status: 503, body: { name: "SERVICE_UNAVAILABLE" } })
        yield* assertOutcome(paypal.authorize(request(51)), "Retryable:server_error_503")
        fake.tokenOverride = () => "hang"
        yield* assertOutcome(paypal.authorize(request(52)), "Retryable:token_timeout")
        fake.tokenOverride = () => ({ status: 200, body: { access_token: 42 } })
        yield* assertOutcome(paypal.authorize(request(53)), "Misconfigured:token_unparseable")
        fake.tokenOverride = () => undefined
        assert.strictEqual((yield* paypal.authorize(request(54))).status, "captured")
        assert.isFalse(
          fake.requests.some(
            (r) =>
              r.path === "/v2/checkout/orders" &&
              [attemptKey(51), attemptKey(52), attemptKey(53)].includes(
                r.headers["paypal-request-id"] as Ids.AttemptKey
              )
          )
        )
      })
  )
})
