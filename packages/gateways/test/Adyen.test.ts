import { Card, Currency, Customer, type Gateway, type Ids, Money } from "@aegispay/core"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Redacted, Schema } from "effect"
import * as Adyen from "../src/Adyen.js"
import {
  assertNoSecretIn,
  assertOutcome,
  attemptKey,
  failureOf,
  jsonReply,
  localStandIn
} from "./support/standIn.js"
import type { RecordedRequest, StandInAnswer } from "./support/standIn.js"

const SECRET = "AQEyhmfxK4_adyen_secret_api_key_9f3c"
const CARD = "4111111111111111"
const id = "adyen-test" as Ids.GatewayId
const card = Schema.decodeUnknownSync(Card.CardDetails)({
  number: CARD,
  expMonth: 3,
  expYear: 2030,
  cvc: "737",
  holderName: "J. Smith"
})
const request = (
  n: number,
  captureMethod: "automatic" | "manual" = "automatic"
): Gateway.AuthorizeRequest => ({
  idempotencyKey: attemptKey(n),
  amount: Money.make(2_000n, Currency.make("EUR")),
  captureMethod,
  paymentMethod: { _tag: "Card", card },
  customer: new Customer.Customer({ id: "cus_1" as Ids.CustomerId }),
  metadata: { order: `o-${n}` }
})
const eur = (amount: bigint) => Money.make(amount, Currency.make("EUR"))

/** An Adyen gateway against a local Checkout API answering JSON with `handler` (n counts requests from 1). */
const withAdyen = <A, E>(
  handler: (request: RecordedRequest, n: number) => StandInAnswer,
  f: (adyen: Gateway.Gateway, requests: ReadonlyArray<RecordedRequest>) => Effect.Effect<A, E>,
  options: { readonly timeout?: Duration.DurationInput } = {}
) =>
  Effect.gen(function* () {
    const { requests, url } = yield* localStandIn((r, n) => jsonReply(handler(r, n)))
    const adyen = yield* Adyen.make({
      id,
      baseUrl: `${url}/`,
      apiKey: Redacted.make(SECRET),
      merchantAccount: "AegisPayECOM",
      timeout: options.timeout ?? "2 seconds"
    })
    return yield* f(adyen, requests)
  }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

const authorised = (psp: string, value = 2_000) => ({
  status: 200,
  headers: { pspReference: psp },
  body: {
    pspReference: psp,
    resultCode: "Authorised",
    amount: { currency: "EUR", value },
    merchantReference: "ref",
    additionalData: { authCode: "064500" }
  }
})
const refused = (code: string, reason: string) => ({
  status: 200,
  body: {
    pspReference: `PSP_REFUSED_${code}`,
    resultCode: "Refused",
    refusalReason: reason,
    refusalReasonCode: code,
    amount: { currency: "EUR", value: 2_000 },
    merchantReference: "ref"
  }
})
const adyenError = (status: number, errorCode: string, message: string, errorType: string) => ({
  status,
  headers: { pspReference: `PSP_ERR_${status}` },
  body: { status, errorCode, message, errorType, pspReference: `PSP_ERR_${status}` }
})

/** No error ever carries the API key or the card number. */
const assertClean = (e: unknown) => assertNoSecretIn([e], [SECRET, CARD])

const jsonOf = (r: RecordedRequest | undefined): Record<string, unknown> => JSON.parse(r?.body ?? "{}")

describe("Adyen adapter against a local Checkout API", () => {
  it.live("an Authorised payment: automatic capture is captured; headers, key and body as documented", () =>
    withAdyen(
      () => authorised("8815658961765250"),
      (adyen, requests) =>
        Effect.gen(function* () {
          const ok = yield* adyen.authorize(request(1))
          assert.deepStrictEqual(
            [ok.status, ok.gatewayReference, ok.amountAuthorized, ok.amountCaptured, ok.pspRequestId],
            ["captured", "8815658961765250", 2_000n, 2_000n, "8815658961765250"]
          )
          const sent = requests[0]!
          assert.strictEqual(sent.method, "POST")
          assert.strictEqual(sent.path, "/v71/payments")
          assert.strictEqual(sent.headers["x-api-key"], SECRET)
          assert.strictEqual(sent.headers["idempotency-key"], attemptKey(1))
          assert.match(String(sent.headers["content-type"]), /application\/json/)
          const body = jsonOf(sent)
          assert.deepStrictEqual(body["amount"], { value: 2_000, currency: "EUR" })
          assert.strictEqual(body["reference"], attemptKey(1))
          assert.strictEqual(body["merchantAccount"], "AegisPayECOM")
          assert.strictEqual(body["captureDelayHours"], 0)
          assert.deepStrictEqual(body["paymentMethod"], {
            type: "scheme",
            number: CARD,
            expiryMonth: "03",
            expiryYear: "2030",
            cvc: "737",
            holderName: "J. Smith"
          })
        })
    )
  )

  it.live(
    "manual capture sends additionalData.manualCapture and is authorized; a token is a stored method",
    () =>
      withAdyen(
        (r) => authorised(jsonOf(r)["reference"] === attemptKey(3) ? "PSP_TOKEN" : "PSP_MANUAL"),
        (adyen, requests) =>
          Effect.gen(function* () {
            const auth = yield* adyen.authorize(request(2, "manual"))
            assert.deepStrictEqual(
              [auth.status, auth.amountAuthorized, auth.amountCaptured],
              ["authorized", 2_000n, 0n]
            )
            assert.deepStrictEqual(jsonOf(requests[0])["additionalData"], { manualCapture: "true" })
            const tokenized = yield* adyen.authorize({
              ...request(3),
              paymentMethod: { _tag: "Token", token: Redacted.make("8416038790273850") }
            })
            assert.strictEqual(tokenized.gatewayReference, "PSP_TOKEN")
            const body = jsonOf(requests[1])
            assert.deepStrictEqual(body["paymentMethod"], {
              type: "scheme",
              storedPaymentMethodId: "8416038790273850"
            })
            assert.strictEqual(body["shopperReference"], "cus_1")
            assert.strictEqual(body["shopperInteraction"], "ContAuth")
          })
      )
  )

  it.live(
    "Refused maps by refusal reason to hard or soft declines; Error and Cancelled are soft; Pending is pending",
    () => {
      const answers: Record<string, StandInAnswer> = {
        [attemptKey(10)]: refused("6", "Expired Card"),
        [attemptKey(11)]: refused("12", "Not enough balance"),
        [attemptKey(12)]: refused("8", "Invalid Card Number"),
        [attemptKey(13)]: refused("2", "Refused"),
        [attemptKey(14)]: refused("9", "Issuer Unavailable"),
        [attemptKey(15)]: refused("4", "Acquirer Error"),
        [attemptKey(16)]: {
          status: 200,
          body: { pspReference: "PSP_E", resultCode: "Error", refusalReason: "Acquirer Error" }
        },
        [attemptKey(17)]: { status: 200, body: { pspReference: "PSP_C", resultCode: "Cancelled" } },
        [attemptKey(18)]: { status: 200, body: { pspReference: "PSP_P", resultCode: "Received" } }
      }
      return withAdyen(
        (r) => answers[String(r.headers["idempotency-key"])] ?? { status: 500 },
        (adyen) =>
          Effect.gen(function* () {
            const expected: Array<[number, string]> = [
              [10, "HardDecline:expired_card"],
              [11, "HardDecline:not_enough_balance"],
              [12, "HardDecline:invalid_card_number"],
              [13, "SoftDecline:refused"],
              [14, "SoftDecline:issuer_unavailable"],
              [15, "SoftDecline:acquirer_error"],
              [16, "SoftDecline:adyen_error"],
              [17, "SoftDecline:cancelled"]
            ]
            for (const [n, outcome] of expected) {
              const r = yield* Effect.either(adyen.authorize(request(n)))
              assert.strictEqual(failureOf(r), outcome, String(n))
              if (Either.isLeft(r)) {
                assert.match(r.left.pspRequestId ?? "", /^PSP_/)
                assert.strictEqual(r.left.httpStatus, 200)
                assertClean(r.left)
              }
            }
            const pending = yield* adyen.authorize(request(18))
            assert.deepStrictEqual([pending.status, pending.gatewayReference], ["pending", "PSP_P"])
            assert.isTrue(Adyen.hardRefusalCodes.has("expired_card"))
          })
      )
    }
  )

  it.live("429 with Retry-After is Retryable with the delay", () =>
    withAdyen(
      () => ({
        ...adyenError(429, "000", "Too many requests", "internal"),
        headers: { "retry-after": "3", pspReference: "PSP_429" }
      }),
      (adyen) =>
        Effect.gen(function* () {
          const r = yield* assertOutcome(adyen.authorize(request(20)), "Retryable:rate_limited")
          if (Either.isLeft(r) && r.left._tag === "Retryable") {
            assert.deepStrictEqual(r.left.retryAfter, Duration.seconds(3))
            assert.deepStrictEqual([r.left.httpStatus, r.left.pspRequestId], [429, "PSP_429"])
          }
        })
    )
  )

  it.live("a 500 is retried with the same Idempotency-Key, then Ambiguous", () =>
    withAdyen(
      () => adyenError(500, "905", "Payment details are not supported", "internal"),
      (adyen, requests) =>
        Effect.gen(function* () {
          const r = yield* assertOutcome(adyen.authorize(request(21)), "Ambiguous:server_error_500")
          if (Either.isLeft(r))
            assert.deepStrictEqual([r.left.httpStatus, r.left.pspRequestId], [500, "PSP_ERR_500"])
          assert.strictEqual(requests.length, 3)
          assert.deepStrictEqual(
            requests.map((x) => x.headers["idempotency-key"]),
            [attemptKey(21), attemptKey(21), attemptKey(21)]
          )
          assert.strictEqual(new Set(requests.map((x) => x.body)).size, 1, "the same body every time")
        })
    )
  )

  it.live("401 is Misconfigured and no error carries the API key or the card number", () =>
    withAdyen(
      () => adyenError(401, "000", "HTTP Status Response - Unauthorized", "security"),
      (adyen) =>
        Effect.gen(function* () {
          const r = yield* assertOutcome(adyen.authorize(request(22)), "Misconfigured:authentication_failed")
          if (Either.isLeft(r)) {
            assert.strictEqual(r.left.httpStatus, 401)
            assertClean(r.left)
          }
          const capture = yield* assertOutcome(
            adyen.capture({ gatewayReference: "X", amount: eur(1n), idempotencyKey: "cap-22" }),
            "Misconfigured:authentication_failed"
          )
          assertClean(Either.isLeft(capture) ? capture.left : {})
          const health = yield* adyen.health
          assert.isFalse(health.reachable)
        })
    )
  )

  it.live("a 422 about the card is a HardDecline; other 422s are Misconfigured; 704 is Ambiguous", () =>
    withAdyen(
      (r) =>
        r.headers["idempotency-key"] === attemptKey(23)
          ? adyenError(422, "101", "Invalid card number", "validation")
          : r.headers["idempotency-key"] === attemptKey(24)
            ? adyenError(422, "138", "Unsupported currency specified", "validation")
            : adyenError(422, "704", "request already processed or in progress", "validation"),
      (adyen) =>
        Effect.gen(function* () {
          const hard = yield* assertOutcome(adyen.authorize(request(23)), "HardDecline:invalid_card_number")
          assertClean(Either.isLeft(hard) ? hard.left : {})
          yield* assertOutcome(adyen.authorize(request(24)), "Misconfigured:adyen_138")
          yield* assertOutcome(adyen.authorize(request(25)), "Ambiguous:idempotency_in_progress")
        })
    )
  )

  it.live("no answer within the timeout is Ambiguous", () =>
    withAdyen(
      () => "hang",
      (adyen) =>
        Effect.gen(function* () {
          const r = yield* assertOutcome(adyen.authorize(request(26)), "Ambiguous:timeout")
          assertClean(Either.isLeft(r) ? r.left : {})
        }),
      { timeout: "200 millis" }
    )
  )

  it.live("a 2xx body that is not a payment response is Ambiguous", () =>
    withAdyen(
      (_, n) =>
        n === 1
          ? { status: 200, body: "<html>upstream proxy</html>", headers: { pspReference: "PSP_HTML" } }
          : n === 2
            ? { status: 200, body: { hello: "world" } }
            : { status: 200, body: { resultCode: "Authorised" } },
      (adyen) =>
        Effect.gen(function* () {
          const html = yield* assertOutcome(adyen.authorize(request(27)), "Ambiguous:unparseable_success")
          if (Either.isLeft(html)) assert.strictEqual(html.left.pspRequestId, "PSP_HTML")
          yield* assertOutcome(adyen.authorize(request(28)), "Ambiguous:unparseable_success")
          yield* assertOutcome(adyen.authorize(request(29)), "Ambiguous:unparseable_success")
        })
    )
  )

  it.live(
    "capture, cancel and refund post to the payment's modifications with key and merchant account",
    () =>
      withAdyen(
        (r) => {
          const body = jsonOf(r)
          const kind = r.path.split("/").pop()
          return {
            status: 201,
            headers: { pspReference: `MOD_${kind}` },
            body: {
              merchantAccount: body["merchantAccount"],
              paymentPspReference: "8815658961765250",
              pspReference: `MOD_${kind}`,
              reference: body["reference"],
              status: "received",
              ...(body["amount"] !== undefined ? { amount: body["amount"] } : {})
            }
          }
        },
        (adyen, requests) =>
          Effect.gen(function* () {
            const captured = yield* adyen.capture({
              gatewayReference: "8815658961765250",
              amount: eur(1_500n),
              idempotencyKey: "pay_x:capture"
            })
            assert.deepStrictEqual(
              [captured.status, captured.gatewayReference, captured.amountCaptured, captured.pspRequestId],
              ["captured", "8815658961765250", 1_500n, "MOD_captures"]
            )
            const voided = yield* adyen.void({
              gatewayReference: "8815658961765250",
              idempotencyKey: "pay_x:void"
            })
            assert.strictEqual(voided.status, "voided")
            const refund = yield* adyen.refund({
              gatewayReference: "8815658961765250",
              amount: eur(500n),
              idempotencyKey: "re_1",
              reason: "requested_by_customer"
            })
            assert.deepStrictEqual(
              [refund.status, refund.amount, refund.gatewayReference],
              ["pending", 500n, "MOD_refunds"]
            )
            assert.deepStrictEqual(
              requests.map((r) => [r.path, r.headers["idempotency-key"], r.headers["x-api-key"]]),
              [
                ["/v71/payments/8815658961765250/captures", "pay_x:capture", SECRET],
                ["/v71/payments/8815658961765250/cancels", "pay_x:void", SECRET],
                ["/v71/payments/8815658961765250/refunds", "re_1", SECRET]
              ]
            )
            assert.deepStrictEqual(jsonOf(requests[0]), {
              merchantAccount: "AegisPayECOM",
              amount: { value: 1_500, currency: "EUR" },
              reference: "pay_x:capture"
            })
            assert.deepStrictEqual(jsonOf(requests[1]), {
              merchantAccount: "AegisPayECOM",
              reference: "pay_x:void"
            })
            assert.deepStrictEqual(jsonOf(requests[2])["amount"], { value: 500, currency: "EUR" })
          })
      )
  )

  it.live("status replays the open attempt's request with the same key and finds the payment", () =>
    withAdyen(
      (_, n) => (n === 1 ? "hang" : authorised("PSP_LATE")),
      (adyen, requests) =>
        Effect.gen(function* () {
          yield* assertOutcome(adyen.authorize(request(30)), "Ambiguous:timeout")
          const found = yield* adyen.status(attemptKey(30))
          assert.strictEqual(found._tag, "Found")
          if (found._tag === "Found") {
            assert.deepStrictEqual(
              [found.payment.status, found.payment.gatewayReference],
              ["captured", "PSP_LATE"]
            )
          }
          assert.strictEqual(requests.length, 2)
          assert.strictEqual(requests[1]!.headers["idempotency-key"], attemptKey(30))
          assert.strictEqual(requests[1]!.body, requests[0]!.body, "the replay is byte for byte")
          // settled: the request (with the card) is no longer kept
          yield* assertOutcome(adyen.status(attemptKey(30)), "Ambiguous:status_lookup_unavailable")
        }),
      { timeout: "200 millis" }
    )
  )

  it.live(
    "status of a pending attempt stays Found pending; a declined replay is Declined; unknown keys are not NotFound",
    () =>
      withAdyen(
        (r, n) =>
          r.headers["idempotency-key"] === attemptKey(31)
            ? { status: 200, body: { pspReference: "PSP_PEND", resultCode: "Pending" } }
            : n === 3
              ? "hang"
              : refused("6", "Expired Card"),
        (adyen) =>
          Effect.gen(function* () {
            const pending = yield* adyen.authorize(request(31))
            assert.strictEqual(pending.status, "pending")
            const still = yield* adyen.status(attemptKey(31))
            assert.strictEqual(still._tag === "Found" ? still.payment.status : still._tag, "pending")
            yield* assertOutcome(adyen.authorize(request(32)), "Ambiguous:timeout")
            const declined = yield* adyen.status(attemptKey(32))
            assert.strictEqual(
              declined._tag === "Declined" ? declined.error._tag : declined._tag,
              "HardDecline"
            )
            yield* assertOutcome(adyen.status(attemptKey(33)), "Ambiguous:status_lookup_unavailable")
          }),
        { timeout: "200 millis" }
      )
  )

  it.live("health lists payment methods without an idempotency key", () =>
    withAdyen(
      () => ({ status: 200, body: { paymentMethods: [{ type: "scheme", name: "Cards" }] } }),
      (adyen, requests) =>
        Effect.gen(function* () {
          const health = yield* adyen.health
          assert.isTrue(health.reachable)
          assert.strictEqual(requests[0]!.path, "/v71/paymentMethods")
          assert.isUndefined(requests[0]!.headers["idempotency-key"])
          assert.deepStrictEqual(jsonOf(requests[0]), { merchantAccount: "AegisPayECOM" })
        })
    )
  )
})
