/**
 * The Adyen adapter: Checkout API v71 (`POST /v71/payments` and the `/captures`, `/cancels`,
 * `/refunds` modifications of a payment), JSON over HTTPS with the API key in `X-API-Key`, mapped to
 * the AegisPay taxonomy.
 *
 * Idempotency: every POST carries `Idempotency-Key` (our attempt key for a payment, the caller's key
 * for a modification). Adyen documents that a request resent with the same key is performed only
 * once and answered with the original result; keys stay valid for at least 7 days. A 5xx is
 * therefore retried with the same key, then reported `Ambiguous`.
 *
 * Mapping of `resultCode`: `Authorised` is `authorized` (manual capture, sent as
 * `additionalData.manualCapture`) or `captured` (automatic capture, sent as `captureDelayHours: 0`);
 * `Refused` is a `HardDecline` or `SoftDecline` by `refusalReasonCode` (see `hardRefusalCodes`);
 * `Error` and `Cancelled` are a `SoftDecline` (nothing was authorised; replaying the same key would
 * only replay the answer, so another gateway is the way forward); `Pending`, `Received` and the
 * shopper-action codes (`RedirectShopper`, `ChallengeShopper`, ...) are `pending`. A 2xx body that
 * does not decode, or a result code this adapter does not know, is `Ambiguous`.
 *
 * Modifications are asynchronous at Adyen: a capture, cancel or refund answers `status: "received"`
 * and its outcome arrives later as a webhook. A received capture is reported `captured`, a received
 * cancel `voided` and a received refund `pending`.
 *
 * Status by attempt key: the Checkout API has no search by merchant reference. `status` replays the
 * attempt's original `/payments` request, byte for byte, with the same `Idempotency-Key`, which Adyen
 * answers with the original result without charging again. To do that the adapter keeps the request
 * body (as a `Redacted` value, in memory only) of every attempt whose outcome is still open (the call
 * was `Ambiguous` or the payment `pending`), for `statusReplayWindow` (1 hour by default: the
 * reconciler resolves open attempts within minutes, and card data, CVC included, should be held no
 * longer than needed; it is never written anywhere); a definite outcome drops it at once.
 * Consequences to know:
 * - if the original request never reached Adyen, the replay performs it now (still once per key);
 * - a `pending` payment stays `pending` on replay (Adyen replays the first answer; the final outcome
 *   comes by webhook);
 * - without a kept body (another process, a restart, an expired window) `status` fails `Ambiguous`
 *   with code `status_lookup_unavailable`: it never claims `NotFound`, which would let the
 *   reconciler give up on an attempt that may have charged.
 *
 * `pspRequestId` is Adyen's `pspReference`, from the response header or else the body.
 *
 * @since 0.1.0
 */
import type { Fee, Ids } from "@aegispay/core"
import { Gateway, GatewayError } from "@aegispay/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Clock, Duration, Effect, Either, Option, Redacted, Ref, Schedule, Schema } from "effect"
import * as internal from "./internal/adyenRefusal.js"
import { requestIdOf, rateLimited } from "./internal/errorFields.js"
import { probe } from "./internal/health.js"
import { decodeSuccess, send, type Reply } from "./internal/call.js"

const { hardValidationErrors, refusal, scrub } = internal

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  readonly id: Ids.GatewayId
  /** e.g. `https://checkout-test.adyen.com` (the live URL has the account's prefix). */
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  readonly merchantAccount: string
  readonly fees?: Fee.FeeSchedule | undefined
  /** Per call (default 10 s); a call that takes longer is `Ambiguous`. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Retries of a 5xx with the same idempotency key before giving up as `Ambiguous` (default 2). */
  readonly serverErrorRetries?: number | undefined
  /** How long `status` may replay an open attempt's request (default 1 hour). */
  readonly statusReplayWindow?: Duration.DurationInput | undefined
}

const Amount = Schema.Struct({ value: Schema.Number, currency: Schema.String })

const PaymentResponse = Schema.Struct({
  pspReference: Schema.optional(Schema.String),
  resultCode: Schema.String,
  amount: Schema.optional(Amount),
  merchantReference: Schema.optional(Schema.String),
  refusalReason: Schema.optional(Schema.String),
  refusalReasonCode: Schema.optional(Schema.String)
})
type PaymentResponse = typeof PaymentResponse.Type

const ModificationResponse = Schema.Struct({
  pspReference: Schema.String,
  paymentPspReference: Schema.String,
  status: Schema.Literal("received"),
  reference: Schema.optional(Schema.String),
  amount: Schema.optional(Amount)
})

const PaymentMethodsResponse = Schema.Struct({
  paymentMethods: Schema.optional(Schema.Array(Schema.Unknown))
})

const AdyenError = Schema.Struct({
  status: Schema.optional(Schema.Number),
  errorCode: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
  errorType: Schema.optional(Schema.String),
  pspReference: Schema.optional(Schema.String)
})

const WithReference = Schema.Struct({ pspReference: Schema.String })

/** Fills `requestId` from the body's `pspReference` when the header did not carry it. */
const withBodyReference = (reply: Reply): Reply =>
  reply.requestId !== undefined
    ? reply
    : {
        ...reply,
        requestId: Option.getOrUndefined(
          Option.map(
            Option.flatMap(reply.body, Schema.decodeUnknownOption(WithReference)),
            (b) => b.pspReference
          )
        )
      }

/**
 * Maps an Adyen answer that is not a 2xx to the taxonomy. `charges`: whether the request may have
 * moved money (a 5xx of a call that cannot, such as listing payment methods, is `Retryable`).
 *
 * @since 0.1.0
 * @category mapping
 */
export const classify = (gateway: Ids.GatewayId, reply: Reply, charges = true): GatewayError.GatewayError => {
  const common = { gateway, httpStatus: reply.status, ...requestIdOf(reply.requestId) }
  const error = Option.flatMap(reply.body, Schema.decodeUnknownOption(AdyenError))
  const errorCode = Option.getOrUndefined(Option.flatMap(error, (e) => Option.fromNullable(e.errorCode)))
  const detail = Option.match(error, {
    onNone: () => `unexpected HTTP ${reply.status} from Adyen`,
    onSome: (e) =>
      scrub(
        [e.errorType, e.errorCode, e.message].filter((x) => x !== undefined).join(" ") ||
          `HTTP ${reply.status} from Adyen`
      )
  })
  if (reply.status === 429) {
    return rateLimited(common, detail, reply.retryAfter)
  }
  if (reply.status === 401)
    return new GatewayError.Misconfigured({ ...common, code: "authentication_failed", detail })
  if (reply.status === 403) return new GatewayError.Misconfigured({ ...common, code: "not_allowed", detail })
  if (reply.status >= 500) {
    const code = `server_error_${reply.status}`
    return charges
      ? new GatewayError.Ambiguous({ ...common, code, detail })
      : new GatewayError.Retryable({ ...common, code, detail })
  }
  // 704: a request with this idempotency key is still being processed
  if (errorCode === "704")
    return new GatewayError.Ambiguous({ ...common, code: "idempotency_in_progress", detail })
  const cardError = errorCode !== undefined ? hardValidationErrors.get(errorCode) : undefined
  if (cardError !== undefined) return new GatewayError.HardDecline({ ...common, code: cardError, detail })
  return new GatewayError.Misconfigured({
    ...common,
    code: errorCode !== undefined ? `adyen_${errorCode}` : `http_${reply.status}`,
    detail
  })
}

/**
 * Maps a decoded `/payments` answer: a payment, or the decline it reports.
 *
 * @since 0.1.0
 * @category mapping
 */
export const interpret = (
  gateway: Ids.GatewayId,
  response: PaymentResponse,
  captureMethod: "automatic" | "manual",
  requested: bigint,
  reply: { readonly status: number; readonly requestId: string | undefined }
): Either.Either<Gateway.GatewayPayment, GatewayError.GatewayError> => {
  const common = { gateway, httpStatus: reply.status, ...requestIdOf(reply.requestId) }
  const reference = response.pspReference
  const amount = response.amount !== undefined ? BigInt(response.amount.value) : requested
  const payment = (status: Gateway.GatewayPayment["status"], authorized: bigint, captured: bigint) =>
    reference === undefined
      ? Either.left(
          new GatewayError.Ambiguous({
            ...common,
            code: "unparseable_success",
            detail: `Adyen answered ${response.resultCode} without a pspReference`
          })
        )
      : Either.right(
          new Gateway.GatewayPayment({
            gatewayReference: reference,
            status,
            amountAuthorized: authorized,
            amountCaptured: captured,
            amountRefunded: 0n,
            ...requestIdOf(reply.requestId)
          })
        )
  const reason = scrub(
    [response.refusalReasonCode, response.refusalReason].filter((x) => x !== undefined).join(": ")
  )
  switch (response.resultCode) {
    case "Authorised":
      return captureMethod === "automatic"
        ? payment("captured", amount, amount)
        : payment("authorized", amount, 0n)
    case "PartiallyAuthorised":
      return payment("authorized", amount, 0n)
    case "Refused": {
      const r = refusal(response.refusalReasonCode, response.refusalReason)
      const detail = `Adyen refused the payment (${reason || "no reason given"})`
      return Either.left(
        r.hard
          ? new GatewayError.HardDecline({ ...common, code: r.code, detail })
          : new GatewayError.SoftDecline({ ...common, code: r.code, detail })
      )
    }
    case "Error":
      return Either.left(
        new GatewayError.SoftDecline({
          ...common,
          code: "adyen_error",
          detail: `Adyen could not process the payment (${reason || "no reason given"})`
        })
      )
    case "Cancelled":
      return Either.left(
        new GatewayError.SoftDecline({
          ...common,
          code: "cancelled",
          detail: "Adyen reports the payment cancelled"
        })
      )
    case "Pending":
    case "Received":
    case "RedirectShopper":
    case "IdentifyShopper":
    case "ChallengeShopper":
    case "PresentToShopper":
    case "AuthenticationFinished":
    case "AuthenticationNotRequired":
      return payment("pending", amount, 0n)
    default:
      return Either.left(
        new GatewayError.Ambiguous({
          ...common,
          code: "unknown_result_code",
          detail: `Adyen answered an unknown resultCode ${scrub(response.resultCode).slice(0, 40)}`
        })
      )
  }
}

interface OpenAttempt {
  readonly body: Redacted.Redacted<string>
  readonly captureMethod: "automatic" | "manual"
  readonly amount: bigint
  readonly at: number
}

const maxOpenAttempts = 10_000

/**
 * The refusal codes (slugs of Adyen's `refusalReason`, e.g. `expired_card`, `not_enough_balance`)
 * mapped to `HardDecline`; every other refusal is a `SoftDecline`.
 *
 * @since 0.1.0
 * @category mapping
 */
export const hardRefusalCodes: ReadonlySet<string> = internal.hardRefusalCodes

/**
 * An Adyen gateway.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Gateway.Gateway, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const timeout = config.timeout ?? "10 seconds"
    const replayWindow = Duration.toMillis(Duration.decode(config.statusReplayWindow ?? "1 hour"))
    const base = config.baseUrl.replace(/\/+$/, "")
    const open = yield* Ref.make(new Map<string, OpenAttempt>())

    const call = (request: HttpClientRequest.HttpClientRequest) =>
      send(
        client,
        config.id,
        HttpClientRequest.setHeader(request, "x-api-key", Redacted.value(config.apiKey)),
        timeout,
        "pspReference"
      ).pipe(Effect.map(withBodyReference))

    const decodeOk = <A, I>(reply: Reply, schema: Schema.Schema<A, I>, charges: boolean) =>
      reply.status >= 200 && reply.status < 300
        ? Effect.map(decodeSuccess("Adyen", config.id, reply, schema), (value) => ({ value, reply }))
        : Effect.fail(classify(config.id, reply, charges))

    /** A JSON POST; with a key, a 5xx is retried with the same key, then `Ambiguous`. */
    const post = <A, I>(path: string, body: string, key: string | undefined, schema: Schema.Schema<A, I>) => {
      const charges = key !== undefined
      return call(
        HttpClientRequest.post(`${base}${path}`).pipe(
          HttpClientRequest.setHeaders(key !== undefined ? { "idempotency-key": key } : {}),
          HttpClientRequest.bodyText(body, "application/json")
        )
      ).pipe(
        Effect.filterOrFail(
          (reply) => reply.status < 500,
          (reply) => classify(config.id, reply, charges)
        ),
        Effect.retry({
          schedule: Schedule.exponential("50 millis"),
          times: charges ? (config.serverErrorRetries ?? 2) : 0,
          while: (e) => e._tag === "Ambiguous" && e.code.startsWith("server_error")
        }),
        Effect.flatMap((reply) => decodeOk(reply, schema, charges))
      )
    }

    const amountOf = (money: { readonly amount: bigint; readonly currency: string }) => ({
      value: Number(money.amount),
      currency: money.currency
    })

    const paymentBody = (req: Gateway.AuthorizeRequest) => ({
      amount: amountOf(req.amount),
      reference: req.idempotencyKey,
      merchantAccount: config.merchantAccount,
      shopperReference: req.customer.id,
      ...(req.customer.email !== undefined ? { shopperEmail: req.customer.email } : {}),
      ...(req.customer.country !== undefined ? { countryCode: req.customer.country } : {}),
      ...(req.description !== undefined ? { shopperStatement: req.description.slice(0, 22) } : {}),
      metadata: req.metadata,
      ...(req.captureMethod === "manual"
        ? { additionalData: { manualCapture: "true" } }
        : { captureDelayHours: 0 }),
      ...(req.paymentMethod._tag === "Token"
        ? {
            paymentMethod: { type: "scheme", storedPaymentMethodId: Redacted.value(req.paymentMethod.token) },
            shopperInteraction: "ContAuth",
            recurringProcessingModel: "CardOnFile"
          }
        : {
            paymentMethod: {
              type: "scheme",
              number: Redacted.value(req.paymentMethod.card.number),
              expiryMonth: String(req.paymentMethod.card.expMonth).padStart(2, "0"),
              expiryYear: String(req.paymentMethod.card.expYear),
              ...(req.paymentMethod.card.cvc !== undefined
                ? { cvc: Redacted.value(req.paymentMethod.card.cvc) }
                : {}),
              ...(req.paymentMethod.card.holderName !== undefined
                ? { holderName: req.paymentMethod.card.holderName }
                : {})
            },
            shopperInteraction: "Ecommerce"
          })
    })

    /** Sends (or replays) `/payments` and maps the answer; errors stay in the error channel. */
    const pay = (key: string, attempt: OpenAttempt) =>
      post("/v71/payments", Redacted.value(attempt.body), key, PaymentResponse).pipe(
        Effect.flatMap(({ reply, value }) =>
          Either.match(interpret(config.id, value, attempt.captureMethod, attempt.amount, reply), {
            onLeft: Effect.fail,
            onRight: Effect.succeed
          })
        )
      )

    const isOpen = (result: Either.Either<Gateway.GatewayPayment, GatewayError.GatewayError>) =>
      Either.isRight(result) ? result.right.status === "pending" : result.left._tag === "Ambiguous"

    const remember = (key: string, attempt: OpenAttempt) =>
      Ref.update(open, (m) => {
        const next = new Map([...m].filter(([, a]) => attempt.at - a.at <= replayWindow))
        next.delete(key)
        next.set(key, attempt)
        while (next.size > maxOpenAttempts) next.delete(next.keys().next().value as string)
        return next
      })

    const forget = (key: string) =>
      Ref.update(open, (m) => {
        if (!m.has(key)) return m
        const next = new Map(m)
        next.delete(key)
        return next
      })

    const settle = (key: string, result: Either.Either<Gateway.GatewayPayment, GatewayError.GatewayError>) =>
      isOpen(result) ? Effect.void : forget(key)

    const authorize: Gateway.Gateway["authorize"] = (req) =>
      Effect.gen(function* () {
        const attempt: OpenAttempt = {
          body: Redacted.make(JSON.stringify(paymentBody(req))),
          captureMethod: req.captureMethod,
          amount: req.amount.amount,
          at: yield* Clock.currentTimeMillis
        }
        yield* remember(req.idempotencyKey, attempt)
        const result = yield* Effect.either(pay(req.idempotencyKey, attempt))
        yield* settle(req.idempotencyKey, result)
        return yield* result
      }).pipe(
        Effect.withSpan("Adyen.authorize", {
          attributes: { gateway: config.id, idempotencyKey: req.idempotencyKey }
        })
      )

    const status: Gateway.Gateway["status"] = (key) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const attempt = (yield* Ref.get(open)).get(key)
        if (attempt === undefined || now - attempt.at > replayWindow) {
          return yield* new GatewayError.Ambiguous({
            gateway: config.id,
            code: "status_lookup_unavailable",
            detail:
              "Adyen has no lookup by reference and this process holds no open request to replay for the attempt; " +
              "its outcome arrives by webhook"
          })
        }
        const result = yield* Effect.either(pay(key, attempt))
        yield* settle(key, result)
        if (Either.isRight(result)) return { _tag: "Found", payment: result.right } as const
        const e = result.left
        if (
          e._tag === "HardDecline" ||
          e._tag === "SoftDecline" ||
          (e._tag === "Misconfigured" && e.httpStatus === 422)
        ) {
          return { _tag: "Declined", error: e } as const
        }
        return yield* e
      }).pipe(Effect.withSpan("Adyen.status", { attributes: { gateway: config.id, idempotencyKey: key } }))

    const modification = (reference: string, kind: "captures" | "cancels" | "refunds") =>
      `/v71/payments/${encodeURIComponent(reference)}/${kind}`

    const capture: Gateway.Gateway["capture"] = (req) =>
      post(
        modification(req.gatewayReference, "captures"),
        JSON.stringify({
          merchantAccount: config.merchantAccount,
          amount: amountOf(req.amount),
          reference: req.idempotencyKey
        }),
        req.idempotencyKey,
        ModificationResponse
      ).pipe(
        Effect.map(
          ({ reply, value }) =>
            new Gateway.GatewayPayment({
              gatewayReference: value.paymentPspReference,
              status: "captured",
              amountAuthorized: req.amount.amount,
              amountCaptured: value.amount !== undefined ? BigInt(value.amount.value) : req.amount.amount,
              amountRefunded: 0n,
              ...requestIdOf(reply.requestId)
            })
        ),
        Effect.withSpan("Adyen.capture", { attributes: { gateway: config.id } })
      )

    const voidPayment: Gateway.Gateway["void"] = (req) =>
      post(
        modification(req.gatewayReference, "cancels"),
        JSON.stringify({ merchantAccount: config.merchantAccount, reference: req.idempotencyKey }),
        req.idempotencyKey,
        ModificationResponse
      ).pipe(
        Effect.map(
          ({ reply, value }) =>
            new Gateway.GatewayPayment({
              gatewayReference: value.paymentPspReference,
              status: "voided",
              amountAuthorized: 0n,
              amountCaptured: 0n,
              amountRefunded: 0n,
              ...requestIdOf(reply.requestId)
            })
        ),
        Effect.withSpan("Adyen.void", { attributes: { gateway: config.id } })
      )

    const refund: Gateway.Gateway["refund"] = (req) =>
      post(
        modification(req.gatewayReference, "refunds"),
        JSON.stringify({
          merchantAccount: config.merchantAccount,
          amount: amountOf(req.amount),
          reference: req.idempotencyKey
        }),
        req.idempotencyKey,
        ModificationResponse
      ).pipe(
        Effect.map(
          ({ reply, value }) =>
            new Gateway.GatewayRefund({
              gatewayReference: value.pspReference,
              amount: value.amount !== undefined ? BigInt(value.amount.value) : req.amount.amount,
              status: "pending",
              ...requestIdOf(reply.requestId)
            })
        ),
        Effect.withSpan("Adyen.refund", { attributes: { gateway: config.id } })
      )

    const health: Gateway.Gateway["health"] = probe(
      Effect.as(
        post(
          "/v71/paymentMethods",
          JSON.stringify({ merchantAccount: config.merchantAccount }),
          undefined,
          PaymentMethodsResponse
        ),
        true
      )
    )

    return {
      id: config.id,
      type: "adyen",
      fees: Option.fromNullable(config.fees),
      authorize,
      capture,
      void: voidPayment,
      refund,
      status,
      health
    } satisfies Gateway.Gateway
  })
