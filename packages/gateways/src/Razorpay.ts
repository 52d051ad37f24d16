/**
 * The Razorpay adapter: Orders plus S2S card payments over Razorpay's REST API (JSON, HTTP Basic
 * auth with the key id and the key secret), mapped to the AegisPay taxonomy.
 *
 * An attempt is an order and a payment on it: `POST /v1/orders` (`receipt` = our attempt key, the
 * capture mode as `payment_capture`), then `POST /v1/payments/create/json` with the card (or a
 * token with its `customer_id`), then `GET /v1/payments/{id}` for the payment's state, since the S2S
 * answer only names the payment and the customer's next steps. `created` (waiting for 3-D Secure or
 * OTP) is `pending`, `authorized` is `authorized`, `captured` is `captured`, `failed` is a decline.
 *
 * Idempotency: Razorpay has no idempotency header for orders or payments. The order's `receipt` is
 * the dedupe key instead: `authorize` first looks the receipt up (`GET /v1/orders?receipt=`); when
 * an order exists it returns the payment already made on it (or the decline it got) and creates a
 * payment only on an order that has none, so a retried attempt never pays twice. The same lookup is
 * `status`. Calls that cannot move money (lookups, order creation) turn a timeout or a 5xx into
 * `Retryable`; the payment creation itself is never retried blindly: a timeout or 5xx there is
 * `Ambiguous`. Refunds send `X-Refund-Idempotency` (Razorpay's refund idempotency header, our key
 * hex-encoded when it has characters Razorpay does not allow), so their 5xx is retried with it.
 *
 * Void: Razorpay cannot cancel an authorization, and refunds only apply to captured payments. An
 * authorized payment that is never captured is refunded by Razorpay itself when the account's
 * capture window ends (3 days by default). `void` therefore captures nothing and cancels nothing: it
 * checks the payment and answers `pending` while it is still authorized (the release is Razorpay's
 * auto-refund), `voided` once auto-refunded, and `Misconfigured` (`already_captured`) if it was
 * captured, which only a refund can undo.
 *
 * Capture is `POST /v1/payments/{id}/capture`; a capture that failed with a 400 or 5xx is checked
 * against the payment, so a capture already done (a retry of our own) is a success, and a 5xx that
 * left the payment authorized is `Retryable`.
 *
 * Declines map by `error.reason` (`error_reason` on a failed payment): see `hardDeclineReasons`;
 * reasons on a payment step that are not hard are soft. Razorpay documents no request-id header, so
 * `pspRequestId` is the payment id (else the order id) an answer names.
 *
 * @since 0.1.0
 */
import type { Fee, Ids } from "@aegispay/core"
import { Gateway, GatewayError } from "@aegispay/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { type Duration, Effect, Either, Option, Redacted, Schedule, Schema } from "effect"
import { probe } from "./internal/health.js"
import { requestIdOf, rateLimited } from "./internal/errorFields.js"
import { decodeSuccess, send, type Reply } from "./internal/call.js"
import * as internal from "./internal/razorpayErrors.js"

const { isMeaningful, refundIdempotencyKey, scrub, softReasons } = internal

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  readonly id: Ids.GatewayId
  /** e.g. `https://api.razorpay.com`. */
  readonly baseUrl: string
  readonly keyId: string
  readonly keySecret: Redacted.Redacted<string>
  readonly fees?: Fee.FeeSchedule | undefined
  /** Per call (default 10 s); a payment call that takes longer is `Ambiguous`. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Retries of a refund's 5xx with the same refund idempotency key (default 2). */
  readonly serverErrorRetries?: number | undefined
}

const NullableString = Schema.optional(Schema.NullOr(Schema.String))

const Order = Schema.Struct({
  id: Schema.String,
  entity: Schema.Literal("order"),
  amount: Schema.Number,
  currency: Schema.String,
  receipt: NullableString,
  status: Schema.String
})
type Order = typeof Order.Type

const Payment = Schema.Struct({
  id: Schema.String,
  entity: Schema.Literal("payment"),
  amount: Schema.Number,
  currency: Schema.String,
  status: Schema.String,
  order_id: NullableString,
  captured: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  amount_refunded: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  error_code: NullableString,
  error_description: NullableString,
  error_reason: NullableString,
  error_source: NullableString,
  error_step: NullableString,
  created_at: Schema.optionalWith(Schema.Number, { default: () => 0 })
})
type Payment = typeof Payment.Type

const collection = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.Struct({ entity: Schema.Literal("collection"), count: Schema.Number, items: Schema.Array(item) })

const Orders = collection(Order)
const Payments = collection(Payment)

const CreatedPayment = Schema.Struct({
  razorpay_payment_id: Schema.String,
  next: Schema.optional(Schema.Array(Schema.Struct({ action: Schema.String, url: NullableString })))
})

const Refund = Schema.Struct({
  id: Schema.String,
  entity: Schema.Literal("refund"),
  amount: Schema.Number,
  payment_id: Schema.String,
  status: Schema.String
})

const RazorpayError = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String,
    description: NullableString,
    reason: NullableString,
    source: NullableString,
    step: NullableString,
    field: NullableString,
    metadata: Schema.optional(
      Schema.NullOr(
        Schema.Struct({
          payment_id: Schema.optional(Schema.String),
          order_id: Schema.optional(Schema.String)
        })
      )
    )
  })
})

const Named = Schema.Union(
  Schema.Struct({ razorpay_payment_id: Schema.String }),
  Schema.Struct({ id: Schema.String }),
  Schema.Struct({
    error: Schema.Struct({
      metadata: Schema.Struct({
        payment_id: Schema.optional(Schema.String),
        order_id: Schema.optional(Schema.String)
      })
    })
  })
)

/** Fills `requestId` from the payment (else order) id the body names. */
const withBodyId = (reply: Reply): Reply => {
  if (reply.requestId !== undefined) return reply
  const named = Option.getOrUndefined(Option.flatMap(reply.body, Schema.decodeUnknownOption(Named)))
  const requestId =
    named === undefined
      ? undefined
      : "razorpay_payment_id" in named
        ? named.razorpay_payment_id
        : "id" in named
          ? named.id
          : (named.error.metadata.payment_id ?? named.error.metadata.order_id)
  return { ...reply, requestId }
}

/**
 * Failure reasons that no retry and no other PSP can fix.
 *
 * @since 0.1.0
 * @category mapping
 */
export const hardDeclineReasons: ReadonlySet<string> = internal.hardReasons

const decline = (
  common: { readonly gateway: Ids.GatewayId; readonly httpStatus: number; readonly pspRequestId?: string },
  code: string,
  detail: string
): GatewayError.HardDecline | GatewayError.SoftDecline =>
  hardDeclineReasons.has(code)
    ? new GatewayError.HardDecline({ ...common, code, detail })
    : new GatewayError.SoftDecline({ ...common, code, detail })

/**
 * Maps a Razorpay answer that is not a 2xx to the taxonomy. `charges`: whether the request may
 * have moved money; a 5xx of one that cannot is `Retryable`.
 *
 * @since 0.1.0
 * @category mapping
 */
export const classify = (gateway: Ids.GatewayId, reply: Reply, charges = true): GatewayError.GatewayError => {
  const common = { gateway, httpStatus: reply.status, ...requestIdOf(reply.requestId) }
  const error = Option.map(
    Option.flatMap(reply.body, Schema.decodeUnknownOption(RazorpayError)),
    (b) => b.error
  )
  const detail = Option.match(error, {
    onNone: () => `unexpected HTTP ${reply.status} from Razorpay`,
    onSome: (e) => scrub(e.description ?? e.code)
  })
  if (reply.status === 429) {
    return rateLimited(common, detail, reply.retryAfter)
  }
  if (reply.status === 401 || reply.status === 403)
    return new GatewayError.Misconfigured({ ...common, code: "authentication_failed", detail })
  if (reply.status >= 500) {
    const code = `server_error_${reply.status}`
    return charges
      ? new GatewayError.Ambiguous({ ...common, code, detail })
      : new GatewayError.Retryable({ ...common, code, detail })
  }
  // a request with the same refund idempotency key is still being processed
  if (reply.status === 409)
    return new GatewayError.Ambiguous({ ...common, code: "idempotency_in_progress", detail })
  if (Option.isNone(error))
    return new GatewayError.Misconfigured({ ...common, code: `http_${reply.status}`, detail })
  const e = error.value
  if (isMeaningful(e.reason)) {
    if (hardDeclineReasons.has(e.reason) || softReasons.has(e.reason))
      return decline(common, e.reason, detail)
    if (e.code === "GATEWAY_ERROR" || (isMeaningful(e.step) && e.step.startsWith("payment_")))
      return decline(common, e.reason, detail)
  }
  if (e.code === "GATEWAY_ERROR")
    return new GatewayError.SoftDecline({ ...common, code: "gateway_error", detail })
  return new GatewayError.Misconfigured({
    ...common,
    code: isMeaningful(e.reason) ? e.reason : e.code.toLowerCase(),
    detail
  })
}

const toPayment = (p: Payment, requestId: string | undefined): Gateway.GatewayPayment =>
  new Gateway.GatewayPayment({
    gatewayReference: p.id,
    status:
      p.status === "captured"
        ? "captured"
        : p.status === "authorized"
          ? "authorized"
          : p.status === "refunded"
            ? p.captured
              ? "captured"
              : "voided"
            : p.status === "failed"
              ? "failed"
              : "pending",
    amountAuthorized: BigInt(p.amount),
    amountCaptured: p.captured ? BigInt(p.amount) : 0n,
    amountRefunded: BigInt(p.amount_refunded),
    ...requestIdOf(requestId ?? p.id)
  })

/** The decline a failed payment carries. */
const declineOf = (gateway: Ids.GatewayId, p: Payment, httpStatus: number) =>
  decline(
    { gateway, httpStatus, pspRequestId: p.id },
    isMeaningful(p.error_reason)
      ? p.error_reason
      : isMeaningful(p.error_code)
        ? p.error_code.toLowerCase()
        : "payment_failed",
    scrub(p.error_description ?? "Razorpay reports the payment failed")
  )

const rank: Record<string, number> = { captured: 0, refunded: 0, authorized: 1, created: 2, failed: 3 }

/** The payment that speaks for an order: the furthest along, the latest among equals. */
const pick = (payments: ReadonlyArray<Payment>): Payment | undefined =>
  [...payments].sort(
    (a, b) => (rank[a.status] ?? 2) - (rank[b.status] ?? 2) || b.created_at - a.created_at
  )[0]

const transportCodes = new Set(["timeout", "transport_error", "unreadable_response"])

/** A call that cannot move money: not having an answer is `Retryable`, not `Ambiguous`. */
const nothingCharged = (e: GatewayError.GatewayError): GatewayError.GatewayError =>
  e._tag === "Ambiguous" && transportCodes.has(e.code)
    ? new GatewayError.Retryable({
        gateway: e.gateway,
        code: e.code,
        detail: `${e.detail} (the call cannot charge)`,
        ...(e.pspRequestId !== undefined ? { pspRequestId: e.pspRequestId } : {}),
        ...(e.httpStatus !== undefined ? { httpStatus: e.httpStatus } : {})
      })
    : e

/**
 * A Razorpay gateway.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Gateway.Gateway, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const timeout = config.timeout ?? "10 seconds"
    const base = config.baseUrl.replace(/\/+$/, "")

    const decodeOk = <A, I>(reply: Reply, schema: Schema.Schema<A, I>, charges: boolean) =>
      reply.status >= 200 && reply.status < 300
        ? Effect.map(decodeSuccess("Razorpay", config.id, reply, schema), (value) => ({ value, reply }))
        : Effect.fail(classify(config.id, reply, charges))

    const call = <A, I>(
      request: HttpClientRequest.HttpClientRequest,
      schema: Schema.Schema<A, I>,
      options: { readonly charges: boolean; readonly retries?: number }
    ) =>
      send(
        client,
        config.id,
        HttpClientRequest.basicAuth(request, config.keyId, config.keySecret),
        timeout,
        "x-request-id"
      ).pipe(
        Effect.map(withBodyId),
        Effect.filterOrFail(
          (reply) => reply.status < 500,
          (reply) => classify(config.id, reply, options.charges)
        ),
        Effect.retry({
          schedule: Schedule.exponential("50 millis"),
          times: options.retries ?? 0,
          while: (e) => e._tag === "Ambiguous" && e.code.startsWith("server_error")
        }),
        Effect.flatMap((reply) => decodeOk(reply, schema, options.charges)),
        Effect.mapError((e) => (options.charges ? e : nothingCharged(e)))
      )

    const get = <A, I>(
      path: string,
      schema: Schema.Schema<A, I>,
      charges = false,
      params: Record<string, string> = {}
    ) =>
      call(HttpClientRequest.get(`${base}${path}`).pipe(HttpClientRequest.setUrlParams(params)), schema, {
        charges
      })

    const post = <A, I>(
      path: string,
      body: unknown,
      schema: Schema.Schema<A, I>,
      options: {
        readonly charges: boolean
        readonly retries?: number
        readonly headers?: Record<string, string>
      }
    ) =>
      call(
        HttpClientRequest.post(`${base}${path}`).pipe(
          HttpClientRequest.setHeaders(options.headers ?? {}),
          HttpClientRequest.bodyText(JSON.stringify(body), "application/json")
        ),
        schema,
        options
      )

    const paymentPath = (id: string) => `/v1/payments/${encodeURIComponent(id)}`

    const findOrder = (receipt: string) =>
      get("/v1/orders", Orders, false, { receipt }).pipe(
        Effect.map(({ value }) => Option.fromNullable(value.items.find((o) => o.receipt === receipt)))
      )

    const orderPayments = (order: Order) =>
      get(`/v1/orders/${encodeURIComponent(order.id)}/payments`, Payments).pipe(
        Effect.map(({ reply, value }) => ({ payment: pick(value.items), reply }))
      )

    /** A payment as the answer to an authorization: failed is its decline. */
    const outcome = (p: Payment, reply: Reply) =>
      p.status === "failed"
        ? Effect.fail(declineOf(config.id, p, reply.status))
        : Effect.succeed(toPayment(p, undefined))

    const createPayment = (req: Gateway.AuthorizeRequest, order: Order) => {
      const contact = req.metadata["contact"]
      const method = req.paymentMethod
      return post(
        "/v1/payments/create/json",
        {
          amount: Number(req.amount.amount),
          currency: req.amount.currency,
          order_id: order.id,
          method: "card",
          ...(req.customer.email !== undefined ? { email: req.customer.email } : {}),
          ...(contact !== undefined ? { contact } : {}),
          ...(req.description !== undefined ? { description: req.description } : {}),
          notes: { ...req.metadata, aegispay_attempt_key: req.idempotencyKey },
          ...(method._tag === "Token"
            ? { customer_id: req.customer.id, token: Redacted.value(method.token) }
            : {
                card: {
                  number: Redacted.value(method.card.number),
                  expiry_month: String(method.card.expMonth).padStart(2, "0"),
                  expiry_year: String(method.card.expYear % 100).padStart(2, "0"),
                  ...(method.card.cvc !== undefined ? { cvv: Redacted.value(method.card.cvc) } : {}),
                  ...(method.card.holderName !== undefined ? { name: method.card.holderName } : {})
                }
              })
        },
        CreatedPayment,
        { charges: true }
      )
    }

    const authorize: Gateway.Gateway["authorize"] = (req) =>
      Effect.gen(function* () {
        const existing = yield* findOrder(req.idempotencyKey)
        let order: Order
        if (Option.isSome(existing)) {
          order = existing.value
          if (order.amount !== Number(req.amount.amount) || order.currency !== req.amount.currency) {
            return yield* new GatewayError.Misconfigured({
              gateway: config.id,
              code: "idempotency_mismatch",
              detail: "an order with this attempt key exists for another amount or currency",
              httpStatus: 200,
              pspRequestId: order.id
            })
          }
          const { payment, reply } = yield* orderPayments(order)
          if (payment !== undefined) return yield* outcome(payment, reply)
        } else {
          order = (yield* post(
            "/v1/orders",
            {
              amount: Number(req.amount.amount),
              currency: req.amount.currency,
              receipt: req.idempotencyKey,
              payment_capture: req.captureMethod === "automatic",
              notes: { ...req.metadata, aegispay_attempt_key: req.idempotencyKey }
            },
            Order,
            { charges: false }
          )).value
        }
        const created = yield* createPayment(req, order)
        const fetched = yield* get(paymentPath(created.value.razorpay_payment_id), Payment, true)
        return yield* outcome(fetched.value, fetched.reply)
      }).pipe(
        Effect.withSpan("Razorpay.authorize", {
          attributes: { gateway: config.id, idempotencyKey: req.idempotencyKey }
        })
      )

    const capture: Gateway.Gateway["capture"] = (req) =>
      post(
        `${paymentPath(req.gatewayReference)}/capture`,
        { amount: Number(req.amount.amount), currency: req.amount.currency },
        Payment,
        { charges: true }
      ).pipe(
        Effect.map(({ value }) => toPayment(value, undefined)),
        Effect.catchIf(
          (e) =>
            (e._tag === "Ambiguous" && e.code.startsWith("server_error")) ||
            (e._tag === "Misconfigured" && e.httpStatus === 400),
          (e) =>
            get(paymentPath(req.gatewayReference), Payment).pipe(
              Effect.matchEffect({
                onFailure: () => Effect.fail(e),
                onSuccess: ({ value }) =>
                  value.captured
                    ? Effect.succeed(toPayment(value, undefined))
                    : e._tag === "Ambiguous" && value.status === "authorized"
                      ? Effect.fail(
                          new GatewayError.Retryable({
                            gateway: config.id,
                            code: e.code,
                            detail: `${e.detail} (the payment is still authorized: nothing was captured)`,
                            ...requestIdOf(e.pspRequestId),
                            ...(e.httpStatus !== undefined ? { httpStatus: e.httpStatus } : {})
                          })
                        )
                      : Effect.fail(e)
              })
            )
        ),
        Effect.withSpan("Razorpay.capture", { attributes: { gateway: config.id } })
      )

    const voidPayment: Gateway.Gateway["void"] = (req) =>
      get(paymentPath(req.gatewayReference), Payment).pipe(
        Effect.flatMap(({ reply, value }) => {
          if (value.captured) {
            return Effect.fail(
              new GatewayError.Misconfigured({
                gateway: config.id,
                code: "already_captured",
                detail: "Razorpay cannot void a captured payment; refund it instead",
                httpStatus: reply.status,
                pspRequestId: value.id
              })
            )
          }
          const payment = toPayment(value, undefined)
          return Effect.succeed(
            value.status === "authorized"
              ? new Gateway.GatewayPayment({ ...payment, status: "pending" })
              : payment
          )
        }),
        Effect.withSpan("Razorpay.void", { attributes: { gateway: config.id } })
      )

    const refund: Gateway.Gateway["refund"] = (req) =>
      post(
        `${paymentPath(req.gatewayReference)}/refund`,
        {
          amount: Number(req.amount.amount),
          notes: {
            aegispay_refund_key: req.idempotencyKey,
            ...(req.reason !== undefined ? { reason: req.reason } : {})
          }
        },
        Refund,
        {
          charges: true,
          retries: config.serverErrorRetries ?? 2,
          headers: { "x-refund-idempotency": refundIdempotencyKey(req.idempotencyKey) }
        }
      ).pipe(
        Effect.flatMap(({ reply, value }) =>
          value.status === "failed"
            ? Effect.fail(
                new GatewayError.SoftDecline({
                  gateway: config.id,
                  code: "refund_failed",
                  detail: "Razorpay reports the refund failed",
                  httpStatus: reply.status,
                  pspRequestId: value.id
                })
              )
            : Effect.succeed(
                new Gateway.GatewayRefund({
                  gatewayReference: value.id,
                  amount: BigInt(value.amount),
                  status: value.status === "processed" ? "succeeded" : "pending",
                  pspRequestId: value.id
                })
              )
        ),
        Effect.withSpan("Razorpay.refund", { attributes: { gateway: config.id } })
      )

    const status: Gateway.Gateway["status"] = (key) =>
      Effect.gen(function* () {
        const order = yield* findOrder(key)
        if (Option.isNone(order)) return { _tag: "NotFound" } as const
        const { payment, reply } = yield* orderPayments(order.value)
        if (payment === undefined) return { _tag: "NotFound" } as const
        const result = yield* Effect.either(outcome(payment, reply))
        return Either.isRight(result)
          ? ({ _tag: "Found", payment: result.right } as const)
          : ({ _tag: "Declined", error: result.left } as const)
      }).pipe(Effect.withSpan("Razorpay.status", { attributes: { gateway: config.id, idempotencyKey: key } }))

    const health: Gateway.Gateway["health"] = probe(
      Effect.as(get("/v1/orders", Orders, false, { count: "1" }), true)
    )

    return {
      id: config.id,
      type: "razorpay",
      fees: Option.fromNullable(config.fees),
      authorize,
      capture,
      void: voidPayment,
      refund,
      status,
      health
    } satisfies Gateway.Gateway
  })
