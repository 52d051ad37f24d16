/**
 * The Stripe adapter: PaymentIntents over Stripe's REST API (form-encoded, `Idempotency-Key` on
 * every POST = our attempt key), mapped to the AegisPay taxonomy. The simulator speaks the same
 * wire format, so pointing `baseUrl` at it needs no other change.
 *
 * @since 0.1.0
 */
import type { Fee, Ids } from "@aegispay/core"
import { Gateway, GatewayError } from "@aegispay/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Option, Redacted, Schedule, Schema } from "effect"
import { probe } from "./internal/health.js"
import { requestIdOf, rateLimited } from "./internal/errorFields.js"
import { decodeSuccess, send, type Reply } from "./internal/call.js"
import { encodeForm } from "./internal/form.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  readonly id: Ids.GatewayId
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  readonly fees?: Fee.FeeSchedule | undefined
  /** Per call (default 10 s); a call that takes longer is `Ambiguous`. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Retries of a 5xx with the same idempotency key before giving up as `Ambiguous` (default 2). */
  readonly serverErrorRetries?: number | undefined
}

const PaymentIntent = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("payment_intent"),
  status: Schema.String,
  amount: Schema.Number,
  amount_received: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  amount_capturable: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  metadata: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), {
    default: () => ({})
  }),
  last_payment_error: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        code: Schema.optional(Schema.String),
        decline_code: Schema.optional(Schema.String),
        message: Schema.optional(Schema.String)
      })
    )
  )
})
type PaymentIntent = typeof PaymentIntent.Type

const StripeError = Schema.Struct({
  error: Schema.Struct({
    type: Schema.String,
    code: Schema.optional(Schema.String),
    decline_code: Schema.optional(Schema.String),
    message: Schema.optional(Schema.String)
  })
})

const SearchResult = Schema.Struct({
  object: Schema.Literal("search_result"),
  data: Schema.Array(PaymentIntent)
})
const Refund = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("refund"),
  amount: Schema.Number,
  status: Schema.String
})

/**
 * Decline codes that no retry and no other PSP can fix.
 *
 * @since 0.1.0
 * @category mapping
 */
export const hardDeclineCodes: ReadonlySet<string> = new Set([
  "insufficient_funds",
  "stolen_card",
  "lost_card",
  "pickup_card",
  "expired_card",
  "incorrect_number",
  "invalid_number",
  "incorrect_cvc",
  "invalid_cvc",
  "invalid_expiry_month",
  "invalid_expiry_year",
  "fraudulent",
  "restricted_card",
  "card_not_supported",
  "currency_not_supported",
  "security_violation",
  "revocation_of_authorization"
])

const toPayment = (pi: PaymentIntent, requestId: string | undefined): Gateway.GatewayPayment =>
  new Gateway.GatewayPayment({
    gatewayReference: pi.id,
    status:
      pi.status === "succeeded"
        ? "captured"
        : pi.status === "requires_capture"
          ? "authorized"
          : pi.status === "canceled"
            ? "voided"
            : pi.status === "processing" ||
                pi.status === "requires_action" ||
                pi.status === "requires_confirmation"
              ? "pending"
              : "failed",
    amountAuthorized: BigInt(pi.status === "requires_capture" ? pi.amount_capturable : pi.amount),
    amountCaptured: BigInt(pi.amount_received),
    amountRefunded: 0n,
    ...requestIdOf(requestId)
  })

/**
 * Maps a Stripe answer that is not a success to the taxonomy.
 *
 * @since 0.1.0
 * @category mapping
 */
export const classify = (gateway: Ids.GatewayId, reply: Reply): GatewayError.GatewayError => {
  const common = {
    gateway,
    httpStatus: reply.status,
    ...(reply.requestId !== undefined ? { pspRequestId: reply.requestId } : {})
  }
  const parsed = Option.flatMap(reply.body, Schema.decodeUnknownOption(StripeError))
  const error = Option.map(parsed, (p) => p.error)
  const code = Option.match(error, {
    onNone: () => `http_${reply.status}`,
    onSome: (e) => e.decline_code ?? e.code ?? e.type
  })
  const detail = Option.match(error, {
    onNone: () => `unexpected HTTP ${reply.status} from Stripe`,
    onSome: (e) => e.message ?? e.type
  })
  if (reply.status === 402 && Option.isSome(error)) {
    return hardDeclineCodes.has(error.value.decline_code ?? "") ||
      hardDeclineCodes.has(error.value.code ?? "")
      ? new GatewayError.HardDecline({ ...common, code, detail })
      : new GatewayError.SoftDecline({ ...common, code, detail })
  }
  if (reply.status === 429) {
    return rateLimited(common, detail, reply.retryAfter)
  }
  if (reply.status === 401 || reply.status === 403)
    return new GatewayError.Misconfigured({ ...common, code: "authentication_failed", detail })
  if (reply.status >= 500) {
    // Stripe documents a 5xx as indeterminate: it may have been processed
    return new GatewayError.Ambiguous({ ...common, code: `server_error_${reply.status}`, detail })
  }
  return new GatewayError.Misconfigured({ ...common, code, detail })
}

/**
 * A Stripe gateway.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Gateway.Gateway, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const timeout = config.timeout ?? "10 seconds"
    const base = config.baseUrl.replace(/\/+$/, "")
    const auth = (request: HttpClientRequest.HttpClientRequest) =>
      HttpClientRequest.setHeaders(request, {
        authorization: `Bearer ${Redacted.value(config.apiKey)}`,
        "stripe-version": "2024-06-20"
      })

    const call = (request: HttpClientRequest.HttpClientRequest) =>
      send(client, config.id, auth(request), timeout, "request-id")

    /** A POST with our idempotency key; a 5xx is retried with the same key, then `Ambiguous`. */
    const post = <A, I>(
      path: string,
      form: Parameters<typeof encodeForm>[0],
      key: string,
      schema: Schema.Schema<A, I>
    ) =>
      call(
        HttpClientRequest.post(`${base}${path}`).pipe(
          HttpClientRequest.setHeader("idempotency-key", key),
          HttpClientRequest.bodyText(encodeForm(form), "application/x-www-form-urlencoded")
        )
      ).pipe(
        Effect.filterOrFail(
          (reply) => reply.status < 500,
          (reply) => classify(config.id, reply)
        ),
        Effect.retry({
          schedule: Schedule.exponential("50 millis"),
          times: config.serverErrorRetries ?? 2,
          while: (e) => e._tag === "Ambiguous" && e.code.startsWith("server_error")
        }),
        Effect.flatMap((reply) => decodeOk(reply, schema))
      )

    const decodeOk = <A, I>(reply: Reply, schema: Schema.Schema<A, I>) =>
      reply.status >= 200 && reply.status < 300
        ? Effect.map(decodeSuccess("Stripe", config.id, reply, schema), (a) => ({
            value: a,
            requestId: reply.requestId
          }))
        : Effect.fail(classify(config.id, reply))

    const authorize: Gateway.Gateway["authorize"] = (req) =>
      post(
        "/v1/payment_intents",
        {
          amount: req.amount.amount.toString(),
          currency: req.amount.currency.toLowerCase(),
          confirm: "true",
          capture_method: req.captureMethod,
          description: req.description,
          metadata: { ...req.metadata, aegispay_attempt_key: req.idempotencyKey },
          ...(req.paymentMethod._tag === "Token"
            ? { payment_method: Redacted.value(req.paymentMethod.token) }
            : {
                payment_method_data: {
                  type: "card",
                  card: {
                    number: Redacted.value(req.paymentMethod.card.number),
                    exp_month: req.paymentMethod.card.expMonth,
                    exp_year: req.paymentMethod.card.expYear,
                    cvc:
                      req.paymentMethod.card.cvc !== undefined
                        ? Redacted.value(req.paymentMethod.card.cvc)
                        : undefined
                  }
                }
              })
        },
        req.idempotencyKey,
        PaymentIntent
      ).pipe(
        Effect.map(({ requestId, value }) => toPayment(value, requestId)),
        Effect.withSpan("Stripe.authorize", {
          captureStackTrace: false,
          attributes: { gateway: config.id, idempotencyKey: req.idempotencyKey }
        })
      )

    const capture: Gateway.Gateway["capture"] = (req) =>
      post(
        `/v1/payment_intents/${encodeURIComponent(req.gatewayReference)}/capture`,
        { amount_to_capture: req.amount.amount.toString() },
        req.idempotencyKey,
        PaymentIntent
      ).pipe(Effect.map(({ requestId, value }) => toPayment(value, requestId)))

    const voidPayment: Gateway.Gateway["void"] = (req) =>
      post(
        `/v1/payment_intents/${encodeURIComponent(req.gatewayReference)}/cancel`,
        {},
        req.idempotencyKey,
        PaymentIntent
      ).pipe(Effect.map(({ requestId, value }) => toPayment(value, requestId)))

    const refund: Gateway.Gateway["refund"] = (req) =>
      post(
        "/v1/refunds",
        {
          payment_intent: req.gatewayReference,
          amount: req.amount.amount.toString(),
          metadata: { reason: req.reason }
        },
        req.idempotencyKey,
        Refund
      ).pipe(
        Effect.map(
          ({ requestId, value }) =>
            new Gateway.GatewayRefund({
              gatewayReference: value.id,
              amount: BigInt(value.amount),
              status: value.status === "succeeded" ? "succeeded" : "pending",
              ...requestIdOf(requestId)
            })
        )
      )

    const search = (key: string) =>
      call(
        HttpClientRequest.get(`${base}/v1/payment_intents/search`).pipe(
          HttpClientRequest.setUrlParam("query", `metadata['aegispay_attempt_key']:'${key}'`)
        )
      ).pipe(Effect.flatMap((reply) => decodeOk(reply, SearchResult)))

    const status: Gateway.Gateway["status"] = (key) =>
      search(key).pipe(
        Effect.map(({ requestId, value }): Gateway.AttemptLookup => {
          const pi = value.data[0]
          if (pi === undefined) return { _tag: "NotFound" }
          const lastError = pi.last_payment_error
          if (pi.status === "requires_payment_method" && lastError) {
            return {
              _tag: "Declined",
              error: classify(config.id, {
                status: 402,
                requestId,
                retryAfter: Option.none(),
                body: Option.some({ error: { type: "card_error", ...lastError } })
              })
            }
          }
          return { _tag: "Found", payment: toPayment(pi, requestId) }
        }),
        Effect.withSpan("Stripe.status", {
          captureStackTrace: false,
          attributes: { gateway: config.id, idempotencyKey: key }
        })
      )

    const health: Gateway.Gateway["health"] = probe(Effect.as(search("aegispay_health_probe"), true))

    return {
      id: config.id,
      type: "stripe",
      fees: Option.fromNullable(config.fees),
      authorize,
      capture,
      void: voidPayment,
      refund,
      status,
      health
    } satisfies Gateway.Gateway
  })

/**
 * @since 0.1.0
 * @category constructors
 */
export const attemptMetadataKey = "aegispay_attempt_key"
