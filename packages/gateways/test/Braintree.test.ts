import { Card, type Ids } from "@aegispay/core"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Redacted, Schema } from "effect"
import * as Braintree from "../src/Braintree.js"
import {
  assertCardOutcomes,
  assertFoundPayment,
  assertNoSecretIn,
  assertOutcome,
  attemptKey,
  failureOf,
  jsonReply,
  localStandIn,
  usd,
  usdCardPayment
} from "./support/standIn.js"
import type { StandInAnswer, StandInReply } from "./support/standIn.js"

const PUBLIC_KEY = "bt-public-4k7q"
const PRIVATE_KEY = "bt-private-key-8f2d-do-not-leak"
const id = "braintree-test" as Ids.GatewayId
const card = (number: string) =>
  Schema.decodeUnknownSync(Card.CardDetails)({ number, expMonth: 3, expYear: 2030, cvc: "123" })
const request = (
  n: number,
  number = "4111111111111111",
  captureMethod: "automatic" | "manual" = "automatic"
) => usdCardPayment(n, card(number), captureMethod)

/** The `input` variables the fake reads; each operation sends a subset. */
interface Input {
  readonly creditCard: { readonly number: string }
  readonly paymentMethodId: string
  readonly transaction: { readonly amount: string; readonly orderId: string }
  readonly transactionId: string
  readonly amount: string
  readonly refund: { readonly amount: string; readonly orderId: string }
  readonly orderId: { readonly is: string }
}
interface MoneyRecord {
  readonly value: string
  readonly currencyCode: string
}
interface RefundRecord {
  readonly id: string
  readonly orderId: string
  readonly status: string
  readonly amount: MoneyRecord
}
interface TransactionRecord {
  readonly id: string
  readonly orderId: string
  status: string
  amount: MoneyRecord
  readonly refunds: Array<RefundRecord>
  readonly [extra: string]: unknown
}

interface Call {
  readonly operation: string
  readonly variables: { readonly input: Input & Readonly<Record<string, unknown>> }
  readonly headers: Readonly<Record<string, string | Array<string> | undefined>>
}
type Override = (c: Call) => StandInAnswer | undefined

/** The knobs a test turns on the fake, and what it reads back. */
interface Controls {
  readonly calls: Array<Call>
  readonly transactions: Map<string, TransactionRecord>
  override: Override
}
interface Fake extends Controls {
  readonly url: string
}

let counter = 0
const nextId = (prefix: string) => `${prefix}_${++counter}`

/** Braintree's GraphQL endpoint on loopback, dispatching on the operation name. */
const fakeBraintree = Effect.gen(function* () {
  const fake: Controls = { calls: [], transactions: new Map(), override: () => undefined }
  const cards = new Map<string, string>()
  const refunds: Array<RefundRecord> = []
  const ok = (data: unknown): StandInReply => ({
    status: 200,
    body: { data, extensions: { requestId: `req-${++counter}` } }
  })
  const fail = (
    message: string,
    errorClass: string,
    legacyCode?: string,
    data: unknown = null
  ): StandInReply => ({
    status: 200,
    body: {
      data,
      errors: [{ message, extensions: { errorClass, ...(legacyCode ? { legacyCode } : {}) } }],
      extensions: { requestId: `req-${++counter}` }
    }
  })
  const txn = (input: Input, status: string, extra: object = {}) => {
    const t: TransactionRecord = {
      id: nextId("dHJhbnNhY3Rpb25f"),
      orderId: input.transaction.orderId,
      status,
      amount: { value: input.transaction.amount, currencyCode: "USD" },
      processorResponse: null,
      refunds: [],
      statusHistory: [],
      ...extra
    }
    fake.transactions.set(t.id, t)
    return t
  }
  const payment = (operation: string, input: Input): StandInReply => {
    const number = cards.get(input.paymentMethodId)
    const field = operation === "AegisCharge" ? "chargeCreditCard" : "authorizeCreditCard"
    const success = operation === "AegisCharge" ? "SUBMITTED_FOR_SETTLEMENT" : "AUTHORIZED"
    switch (number) {
      case "4000111111111115":
        return ok({
          [field]: {
            transaction: txn(input, "PROCESSOR_DECLINED", {
              processorResponse: { legacyCode: "2000", message: "Do Not Honor" },
              statusHistory: [
                { declineType: "SOFT", processorResponse: { legacyCode: "2000", message: "Do Not Honor" } }
              ]
            })
          }
        })
      case "4000000000009995":
        txn(input, "PROCESSOR_DECLINED", {
          processorResponse: { legacyCode: "2001", message: "Insufficient Funds" }
        })
        return fail("Insufficient Funds", "VALIDATION", "2001", { [field]: null })
      case "4000000000000069":
        return ok({
          [field]: {
            transaction: txn(input, "PROCESSOR_DECLINED", {
              processorResponse: { legacyCode: "2004", message: "Expired Card" }
            })
          }
        })
      case "4000000000000259":
        return ok({
          [field]: {
            transaction: txn(input, "GATEWAY_REJECTED", {
              statusHistory: [{ gatewayRejectionReason: "FRAUD" }]
            })
          }
        })
      case "4000000000000119":
        return ok({
          [field]: {
            transaction: txn(input, "FAILED", {
              processorResponse: {
                legacyCode: "3000",
                message: "Processor Network Unavailable - Try Again"
              }
            })
          }
        })
      default:
        return ok({ [field]: { transaction: txn(input, success) } })
    }
  }
  const route = (c: Call): StandInReply => {
    const input = c.variables?.input
    switch (c.operation) {
      case "AegisTokenize": {
        const number: string = input.creditCard.number
        if (number === "4000000000000101")
          return fail("Credit card number is invalid.", "VALIDATION", "81715")
        const token = nextId("tokencc")
        cards.set(token, number)
        return ok({ tokenizeCreditCard: { paymentMethod: { id: token } } })
      }
      case "AegisCharge":
      case "AegisAuthorize":
        return payment(c.operation, input)
      case "AegisCapture": {
        const t = fake.transactions.get(input.transactionId)
        if (!t) return fail("An object with this ID was not found.", "NOT_FOUND")
        if (t.status !== "AUTHORIZED")
          return fail("Cannot submit for settlement unless status is authorized.", "VALIDATION", "91507")
        t.status = "SUBMITTED_FOR_SETTLEMENT"
        t.amount = { value: input.amount, currencyCode: "USD" }
        return ok({ captureTransaction: { transaction: t } })
      }
      case "AegisReverse": {
        const t = fake.transactions.get(input.transactionId)
        if (!t) return fail("An object with this ID was not found.", "NOT_FOUND")
        t.status = "VOIDED"
        return ok({ reverseTransaction: { reversal: { __typename: "Transaction", ...t } } })
      }
      case "AegisRefund": {
        const t = fake.transactions.get(input.transactionId)
        if (!t) return fail("An object with this ID was not found.", "NOT_FOUND")
        const refund = {
          id: nextId("cmVmdW5k"),
          orderId: input.refund.orderId,
          status: "SUBMITTED_FOR_SETTLEMENT",
          amount: { value: input.refund.amount, currencyCode: "USD" }
        }
        refunds.push(refund)
        t.refunds.push(refund)
        return ok({ refundTransaction: { refund } })
      }
      case "AegisFindRefunds":
        return ok({
          search: {
            refunds: {
              edges: refunds.filter((r) => r.orderId === input.orderId.is).map((node) => ({ node }))
            }
          }
        })
      case "AegisFindTransactions":
        return ok({
          search: {
            transactions: {
              edges: [...fake.transactions.values()]
                .filter((t) => t.orderId === input.orderId.is)
                .map((node) => ({ node }))
            }
          }
        })
      case "AegisPing":
        return ok({ ping: "pong" })
      default:
        return fail("Unknown operation", "VALIDATION")
    }
  }
  const standIn = yield* localStandIn((r) => {
    const parsed = JSON.parse(r.body)
    const operation = /(?:mutation|query)\s+(\w+)/.exec(parsed.query)?.[1] ?? ""
    const c: Call = { operation, variables: parsed.variables, headers: r.headers }
    fake.calls.push(c)
    const expected = `Basic ${Buffer.from(`${PUBLIC_KEY}:${PRIVATE_KEY}`).toString("base64")}`
    if (r.path !== "/graphql" || r.headers.authorization !== expected) {
      return jsonReply({
        status: 401,
        body: {
          errors: [{ message: "Authentication failed", extensions: { errorClass: "AUTHENTICATION" } }]
        }
      })
    }
    return jsonReply(fake.override(c) ?? route(c))
  })
  return Object.assign(fake, { url: standIn.url }) satisfies Fake
})

const gateway = (fake: Fake, options: Partial<Braintree.Config> = {}) =>
  Braintree.make({
    id,
    baseUrl: fake.url,
    publicKey: Redacted.make(PUBLIC_KEY),
    privateKey: Redacted.make(PRIVATE_KEY),
    merchantAccountId: "aegispay_usd",
    timeout: "2 seconds",
    ...options
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** No error carries the keys or a card number. */
const assertNoSecrets = (errors: ReadonlyArray<unknown>) =>
  assertNoSecretIn(errors, [
    PRIVATE_KEY,
    PUBLIC_KEY,
    "4111111111111111",
    "4000000000009995",
    "4000000000000101"
  ])

describe("Braintree adapter against a local GraphQL stand-in", () => {
  it.scopedLive("tokenizes, charges with the attempt key as orderId, and maps outcomes", () =>
    Effect.gen(function* () {
      const fake = yield* fakeBraintree
      const braintree = yield* gateway(fake)
      const ok = yield* braintree.authorize(request(1))
      assert.deepStrictEqual([ok.status, ok.amountCaptured], ["captured", 2_000n])
      assert.match(ok.pspRequestId ?? "", /^req-/)
      const [tokenize, charge] = fake.calls
      assert.strictEqual(tokenize?.operation, "AegisTokenize")
      assert.deepStrictEqual<unknown>(tokenize?.variables.input.creditCard, {
        number: "4111111111111111",
        expirationMonth: "03",
        expirationYear: "2030",
        cvv: "123"
      })
      assert.strictEqual(charge?.operation, "AegisCharge")
      assert.strictEqual(charge?.headers["braintree-version"], Braintree.defaultVersion)
      assert.deepStrictEqual<unknown>(charge?.variables.input.transaction, {
        amount: "20.00",
        orderId: attemptKey(1),
        merchantAccountId: "aegispay_usd"
      })

      const outcomes: Array<[string, string]> = [
        ["4000111111111115", "SoftDecline:do_not_honor"],
        ["4000000000009995", "HardDecline:insufficient_funds"],
        ["4000000000000069", "HardDecline:expired_card"],
        ["4000000000000259", "HardDecline:gateway_rejected_fraud"],
        ["4000000000000119", "Retryable:processor_network_unavailable"],
        ["4000000000000101", "HardDecline:invalid_card_81715"]
      ]
      const errors = yield* assertCardOutcomes(
        (n, number) => braintree.authorize(request(n, number)),
        10,
        outcomes,
        (error) => {
          assert.match(error.pspRequestId ?? "", /^req-/)
          assert.strictEqual(error.httpStatus, 200)
        }
      )
      assertNoSecrets(errors)
    })
  )

  it.scopedLive("authorize, capture, refund (once per key), void and status", () =>
    Effect.gen(function* () {
      const fake = yield* fakeBraintree
      const braintree = yield* gateway(fake)
      const auth = yield* braintree.authorize(request(2, "4111111111111111", "manual"))
      assert.deepStrictEqual([auth.status, auth.amountAuthorized], ["authorized", 2_000n])
      assert.strictEqual(fake.calls[1]?.operation, "AegisAuthorize")

      const captured = yield* braintree.capture({
        gatewayReference: auth.gatewayReference,
        amount: usd(1_500n),
        idempotencyKey: "cap-2"
      })
      assert.deepStrictEqual([captured.status, captured.amountCaptured], ["captured", 1_500n])
      assert.deepStrictEqual<unknown>(fake.calls.at(-1)?.variables.input, {
        transactionId: auth.gatewayReference,
        amount: "15.00"
      })

      const refund = yield* braintree.refund({
        gatewayReference: auth.gatewayReference,
        amount: usd(500n),
        idempotencyKey: "re-2"
      })
      assert.deepStrictEqual([refund.status, refund.amount], ["succeeded", 500n])
      const again = yield* braintree.refund({
        gatewayReference: auth.gatewayReference,
        amount: usd(500n),
        idempotencyKey: "re-2"
      })
      assert.strictEqual(again.gatewayReference, refund.gatewayReference)
      assert.strictEqual(fake.calls.filter((c) => c.operation === "AegisRefund").length, 1)

      assertFoundPayment(yield* braintree.status(attemptKey(2)), ["captured", 1_500n, 500n])

      const other = yield* braintree.authorize(request(3, "4111111111111111", "manual"))
      const voided = yield* braintree.void({
        gatewayReference: other.gatewayReference,
        idempotencyKey: "void-3"
      })
      assert.strictEqual(voided.status, "voided")

      yield* assertOutcome(
        braintree.capture({ gatewayReference: other.gatewayReference, amount: usd(1n), idempotencyKey: "c" }),
        "Misconfigured:validation_91507"
      )

      assert.deepStrictEqual(yield* braintree.status(attemptKey(99)), { _tag: "NotFound" })
      yield* Effect.either(braintree.authorize(request(4, "4000000000000069")))
      const declined = yield* braintree.status(attemptKey(4))
      assert.strictEqual(declined._tag === "Declined" ? declined.error.code : declined._tag, "expired_card")
      assert.isTrue((yield* braintree.health).reachable)
    })
  )

  it.scopedLive(
    "HTTP and GraphQL failures: 429, 5xx, INTERNAL, SERVICE_AVAILABILITY, timeout, malformed",
    () =>
      Effect.gen(function* () {
        const fake = yield* fakeBraintree
        const braintree = yield* gateway(fake, { timeout: "200 millis" })
        const errors: Array<unknown> = []
        const on = (operation: string, answer: StandInAnswer) => (c: Call) =>
          c.operation === operation ? answer : undefined
        const run = (n: number, override: Override) =>
          Effect.gen(function* () {
            fake.override = override
            const r = yield* Effect.either(braintree.authorize(request(n)))
            fake.override = () => undefined
            if (Either.isLeft(r)) errors.push(r.left)
            return r
          })

        const limited = yield* run(
          20,
          on("AegisCharge", {
            status: 429,
            headers: { "retry-after": "3" },
            body: { errors: [{ message: "Too many" }] }
          })
        )
        assert.strictEqual(failureOf(limited), "Retryable:rate_limited")
        if (Either.isLeft(limited) && limited.left._tag === "Retryable") {
          assert.strictEqual(limited.left.retryAfter?.pipe(Duration.toMillis), 3_000)
          assert.strictEqual(limited.left.httpStatus, 429)
        }
        const internal = (errorClass: string) => ({
          status: 200,
          body: {
            data: { chargeCreditCard: null },
            errors: [{ message: "An unexpected error occurred", extensions: { errorClass } }],
            extensions: { requestId: "req-internal" }
          }
        })
        const cases: Array<[Override, string]> = [
          [
            on("AegisCharge", { status: 500, body: { errors: [{ message: "boom" }] } }),
            "Ambiguous:server_error_500"
          ],
          [on("AegisTokenize", { status: 503, body: "<html>down</html>" }), "Retryable:server_error_503"],
          [on("AegisCharge", internal("INTERNAL")), "Ambiguous:internal_error"],
          [on("AegisTokenize", internal("INTERNAL")), "Retryable:internal_error"],
          [on("AegisCharge", internal("SERVICE_AVAILABILITY")), "Retryable:service_unavailable"],
          [on("AegisCharge", internal("AUTHORIZATION")), "Misconfigured:authorization"],
          [on("AegisCharge", "hang"), "Ambiguous:timeout"],
          [on("AegisTokenize", "hang"), "Retryable:tokenize_timeout"],
          [
            on("AegisCharge", {
              status: 200,
              body: '{"data": {"chargeCreditCard": {"transaction": {"id": 7}}}}'
            }),
            "Ambiguous:unparseable_success"
          ],
          [on("AegisCharge", { status: 200, body: "not json at all" }), "Ambiguous:unparseable_success"],
          [
            on("AegisCharge", {
              status: 200,
              body: {
                data: {
                  chargeCreditCard: {
                    transaction: {
                      id: "t",
                      status: "SETTLED",
                      amount: { value: "twenty", currencyCode: "USD" }
                    }
                  }
                }
              }
            }),
            "Ambiguous:unparseable_success"
          ],
          [
            on("AegisCharge", {
              status: 200,
              body: {
                data: {
                  chargeCreditCard: {
                    transaction: {
                      id: "t",
                      status: "GATEWAY_REJECTED",
                      statusHistory: [{ gatewayRejectionReason: "DUPLICATE" }]
                    }
                  }
                }
              }
            }),
            "Ambiguous:gateway_rejected_duplicate"
          ]
        ]
        for (const [i, [override, expected]] of cases.entries()) {
          const r = yield* run(30 + i, override)
          assert.strictEqual(failureOf(r), expected, `case ${i}`)
          if (Either.isLeft(r) && r.left.code !== "timeout" && r.left.code !== "tokenize_timeout") {
            assert.isDefined(r.left.httpStatus, `case ${i}`)
          }
        }
        const ambiguousInternal = errors.find((e) => (e as { code: string }).code === "internal_error")
        assert.strictEqual((ambiguousInternal as { pspRequestId?: string }).pspRequestId, "req-internal")

        // a search that fails moved no money
        fake.override = on("AegisFindTransactions", { status: 502, body: "" })
        yield* assertOutcome(braintree.status(attemptKey(1)), "Retryable:server_error_502")
        fake.override = () => undefined
        assertNoSecrets(errors)
      })
  )

  it.scopedLive("wrong keys are Misconfigured and never leak", () =>
    Effect.gen(function* () {
      const fake = yield* fakeBraintree
      const braintree = yield* gateway(fake, { privateKey: Redacted.make("bt-wrong-private-zz9") })
      const r = yield* assertOutcome(braintree.authorize(request(60)), "Misconfigured:authentication_failed")
      if (Either.isLeft(r)) {
        assert.strictEqual(r.left.httpStatus, 401)
        assert.notInclude(`${r.left.message} ${JSON.stringify(r.left)}`, "bt-wrong-private-zz9")
      }
      assertNoSecrets(Either.isLeft(r) ? [r.left] : [])
      assert.isFalse((yield* braintree.health).reachable)
    })
  )
})
