/**
 * The HTTP API of DESIGN.md section 5 on `@effect/platform`'s router: JSON bodies validated with
 * Schema (a 400 names the field and never echoes card data), the error body
 * `{"error": {"type", "code", "message"}}`, API keys per merchant compared in constant time,
 * merchant isolation, `Idempotency-Key` and `Idempotent-Replayed`, `X-Correlation-Id` on every
 * response, a 1 MiB body limit.
 *
 * @since 0.1.0
 */
import {
  Card,
  Currency,
  Customer,
  EventStore,
  Ids,
  Money,
  Payment,
  PaymentEvent,
  PaymentReadModel
} from "@aegispay/core"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { GatewayGuard, PaymentService, RequestContext, Router, Telemetry } from "aegispay"
import { Effect, Option, ParseResult, Random, Schema } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import type { ServerConfig } from "./ServerConfig.js"
import * as View from "./View.js"

const MAX_BODY = 1024 * 1024

/**
 * An API error: status and the body's `type`, `code`, `message`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ApiError {
  readonly _tag = "ApiError"
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    readonly message: string
  ) {}
}

const fail = (status: number, type: string, code: string, message: string) =>
  Effect.fail(new ApiError(status, type, code, message))
const invalid = (code: string, message: string) => fail(400, "invalid_request_error", code, message)

const Amount = Schema.Number.annotations({ message: () => "must be a whole number of minor units" }).pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n > 0, {
    message: () => "must be a positive whole number of minor units, at most 2^53 - 1"
  })
)

const CreateBody = Schema.Struct({
  amount: Amount,
  currency: Currency.CurrencyCode,
  customer: Schema.Struct({
    id: Ids.CustomerId,
    email: Schema.optionalWith(
      Schema.String.pipe(Schema.maxLength(254), Schema.pattern(/^[^\s@]+@[^\s@]+$/)),
      { exact: true }
    ),
    country: Schema.optionalWith(Customer.CountryCode, { exact: true })
  }),
  paymentMethod: Schema.Struct({
    type: Schema.Literal("card"),
    card: Schema.Struct({
      number: Card.CardNumberDigits,
      expMonth: Card.ExpMonth,
      expYear: Card.ExpYear,
      cvc: Schema.optionalWith(
        Schema.String.annotations({ message: () => "must be a string of 3 or 4 digits" }).pipe(
          Schema.filter((s) => /^[0-9]{3,4}$/.test(s), { message: () => "must be a string of 3 or 4 digits" })
        ),
        { exact: true }
      ),
      holderName: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(200)), { exact: true })
    })
  }),
  captureMethod: Schema.optionalWith(Schema.Literal("automatic", "manual"), { exact: true }),
  gateway: Schema.optionalWith(Ids.GatewayId, { exact: true }),
  description: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(1000)), { exact: true }),
  metadata: Schema.optionalWith(PaymentEvent.Metadata, { exact: true })
}).annotations({ parseOptions: { onExcessProperty: "ignore" } })

const CaptureBody = Schema.Struct({ amount: Schema.optionalWith(Amount, { exact: true }) })
const RefundBody = Schema.Struct({
  amount: Schema.optionalWith(Amount, { exact: true }),
  reason: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(500)), { exact: true })
})

/** The first issue of a decode failure as "field: message" (messages never contain card data). */
const describe = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return "the request body is not valid"
  const path = issue.path.map(String).join(".")
  const message = /card\.(number|cvc)/.test(path)
    ? issue.message.replace(/"[^"]*"/g, "<redacted>")
    : issue.message
  return path === "" ? message : `${path}: ${message}`
}

const readJson = <A, I>(schema: Schema.Schema<A, I>, allowEmpty = false) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > MAX_BODY)
      return yield* fail(
        413,
        "invalid_request_error",
        "body_too_large",
        "request bodies are limited to 1 MiB"
      )
    const text = yield* request.text.pipe(
      Effect.mapError(
        () =>
          new ApiError(400, "invalid_request_error", "unreadable_body", "the request body could not be read")
      )
    )
    if (text.length > MAX_BODY)
      return yield* fail(
        413,
        "invalid_request_error",
        "body_too_large",
        "request bodies are limited to 1 MiB"
      )
    let json: unknown = {}
    if (text.trim().length > 0) {
      try {
        json = JSON.parse(text)
      } catch {
        return yield* invalid("invalid_json", "the request body is not valid JSON")
      }
    } else if (!allowEmpty) return yield* invalid("missing_body", "a JSON body is required")
    return yield* Schema.decodeUnknown(schema)(json).pipe(
      Effect.mapError((e) => new ApiError(400, "invalid_request_error", "invalid_parameter", describe(e)))
    )
  })

/** Constant-time lookup of the merchant of an API key. */
const authenticate = (keys: ReadonlyMap<string, string>) => {
  const digests = [...keys].map(([key, merchant]) => ({
    digest: createHash("sha256").update(key).digest(),
    merchant
  }))
  return Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const header = request.headers["authorization"] ?? ""
    const token = header.startsWith("Bearer ") ? header.slice(7) : ""
    const digest = createHash("sha256").update(token).digest()
    let merchant: string | undefined
    for (const candidate of digests)
      if (timingSafeEqual(candidate.digest, digest)) merchant = candidate.merchant
    if (token === "" || merchant === undefined) {
      return yield* fail(
        401,
        "authentication_error",
        "unauthorized",
        "a valid API key is required: Authorization: Bearer <key>"
      )
    }
    return merchant as Ids.MerchantId
  })
}

const paymentIdParam = Effect.flatMap(HttpRouter.params, (params) => {
  const raw = params["id"] ?? ""
  return Schema.is(Ids.PaymentId)(raw)
    ? Effect.succeed(raw)
    : fail(404, "invalid_request_error", "payment_not_found", "no such payment")
})

const idempotencyKey = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
  const raw = request.headers["idempotency-key"]
  if (raw === undefined) return Effect.succeed(undefined)
  return Schema.is(Ids.IdempotencyKey)(raw)
    ? Effect.succeed(raw)
    : invalid(
        "invalid_idempotency_key",
        "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces"
      )
})

/** A UUID-shaped id from Effect's `Random` (drivable in tests). */
const newCorrelationId = Effect.map(
  Effect.all(Array.from({ length: 16 }, () => Random.nextIntBetween(0, 256))),
  (bytes) => {
    const hex = bytes
      .map((b, i) =>
        (i === 6 ? (b & 0x0f) | 0x40 : i === 8 ? (b & 0x3f) | 0x80 : b).toString(16).padStart(2, "0")
      )
      .join("")
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }
)

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers })

/** Maps every orchestrator error to its status and body. */
const toApiError = (e: { readonly _tag: string; readonly message: string }): ApiError => {
  switch (e._tag) {
    case "ApiError":
      return e as unknown as ApiError
    case "PaymentNotFound":
      return new ApiError(404, "invalid_request_error", "payment_not_found", "no such payment")
    case "InvalidTransition":
      return new ApiError(409, "invalid_request_error", "invalid_state", e.message)
    case "InvalidAmount": {
      const reason = (e as unknown as { reason: string }).reason
      const code =
        reason === "ExceedsRefundable" || reason === "NothingToRefund"
          ? "amount_exceeds_refundable"
          : reason === "ExceedsAuthorized"
            ? "amount_exceeds_authorized"
            : "invalid_amount"
      return new ApiError(422, "invalid_request_error", code, e.message)
    }
    case "IdempotencyKeyInUse":
      return new ApiError(409, "idempotency_error", "idempotency_key_in_use", e.message)
    case "IdempotencyKeyReused":
      return new ApiError(422, "idempotency_error", "idempotency_key_reused", e.message)
    case "GatewayRejected":
      return new ApiError(402, "gateway_error", "gateway_rejected", e.message)
    case "GatewayUnavailable":
      return new ApiError(503, "gateway_error", "gateway_unavailable", e.message)
    case "HookRejection":
      return new ApiError(422, "invalid_request_error", "rejected", e.message)
    case "InvalidCursor":
      return new ApiError(400, "invalid_request_error", "invalid_cursor", e.message)
    case "ConcurrencyConflict":
      return new ApiError(409, "api_error", "conflict", "the payment changed while the request ran; retry it")
    case "LockTimeout":
      return new ApiError(503, "api_error", "busy", "the payment is busy; retry the request")
    case "PersistenceError":
      return new ApiError(503, "api_error", "storage_unavailable", "storage is unavailable; retry later")
    default:
      return new ApiError(500, "api_error", "internal_error", "an internal error occurred")
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: ServerConfig) =>
  Effect.gen(function* () {
    const payments = yield* PaymentService.PaymentService
    const router = yield* Router.Router
    const guard = yield* GatewayGuard.GatewayGuard
    const store = yield* EventStore.EventStore
    const readModel = yield* PaymentReadModel.PaymentReadModel
    const telemetry = yield* Telemetry.Telemetry
    const auth = authenticate(config.apiKeys)

    const v1 = <E extends { readonly _tag: string; readonly message: string }>(
      handler: (
        merchantId: Ids.MerchantId
      ) => Effect.Effect<
        HttpServerResponse.HttpServerResponse,
        E,
        HttpServerRequest.HttpServerRequest | HttpRouter.RouteContext
      >
    ) => Effect.flatMap(auth, handler)

    const routes = HttpRouter.empty.pipe(
      HttpRouter.post(
        "/v1/payments",
        v1((merchantId) =>
          Effect.gen(function* () {
            const key = yield* idempotencyKey
            const body = yield* readJson(CreateBody)
            const card = Schema.decodeSync(Card.CardDetails)({
              number: body.paymentMethod.card.number,
              expMonth: body.paymentMethod.card.expMonth,
              expYear: body.paymentMethod.card.expYear,
              ...(body.paymentMethod.card.cvc !== undefined ? { cvc: body.paymentMethod.card.cvc } : {})
            })
            const outcome = yield* payments.create({
              merchantId,
              idempotencyKey: key,
              amount: Money.make(BigInt(body.amount), body.currency),
              customer: new Customer.Customer(body.customer),
              card,
              captureMethod: body.captureMethod,
              gateway: body.gateway,
              description: body.description,
              metadata: body.metadata
            })
            return json(
              201,
              View.payment(outcome.value),
              outcome.replayed ? { "Idempotent-Replayed": "true" } : {}
            )
          })
        )
      ),
      HttpRouter.get(
        "/v1/payments",
        v1((merchantId) =>
          Effect.gen(function* () {
            const url = new URL((yield* HttpServerRequest.HttpServerRequest).url, "http://x")
            const q = url.searchParams
            const rawLimit = q.get("limit")
            const limit = rawLimit === null ? 20 : Number(rawLimit)
            if (!Number.isInteger(limit) || limit < 1 || limit > 100)
              return yield* invalid("invalid_parameter", "limit: must be a whole number from 1 to 100")
            const status = q.get("status")
            if (status !== null && !Schema.is(Payment.PaymentStatus)(status))
              return yield* invalid(
                "invalid_parameter",
                `status: must be one of ${Payment.PaymentStatus.literals.join(", ")}`
              )
            const customerId = q.get("customerId")
            const page = yield* readModel.list(merchantId, {
              limit,
              ...(status !== null ? { status } : {}),
              ...(customerId !== null ? { customerId: customerId as Ids.CustomerId } : {}),
              ...(q.get("cursor") !== null ? { cursor: q.get("cursor")! } : {})
            })
            return json(200, {
              data: page.data.map(View.payment),
              nextCursor: Option.getOrNull(page.nextCursor)
            })
          })
        )
      ),
      HttpRouter.get(
        "/v1/payments/:id",
        v1((merchantId) =>
          Effect.flatMap(paymentIdParam, (id) =>
            Effect.map(payments.get(merchantId, id), (p) => json(200, View.payment(p)))
          )
        )
      ),
      HttpRouter.post(
        "/v1/payments/:id/capture",
        v1((merchantId) =>
          Effect.gen(function* () {
            const id = yield* paymentIdParam
            const body = yield* readJson(CaptureBody, true)
            const p = yield* payments.capture({
              merchantId,
              paymentId: id,
              amount: body.amount === undefined ? undefined : BigInt(body.amount)
            })
            return json(200, View.payment(p))
          })
        )
      ),
      HttpRouter.post(
        "/v1/payments/:id/cancel",
        v1((merchantId) =>
          Effect.gen(function* () {
            const id = yield* paymentIdParam
            return json(200, View.payment(yield* payments.cancel({ merchantId, paymentId: id })))
          })
        )
      ),
      HttpRouter.post(
        "/v1/payments/:id/refunds",
        v1((merchantId) =>
          Effect.gen(function* () {
            const id = yield* paymentIdParam
            const key = yield* idempotencyKey
            const body = yield* readJson(RefundBody, true)
            const outcome = yield* payments.refund({
              merchantId,
              paymentId: id,
              idempotencyKey: key,
              amount: body.amount === undefined ? undefined : BigInt(body.amount),
              reason: body.reason
            })
            return json(
              201,
              View.refund(outcome.value),
              outcome.replayed ? { "Idempotent-Replayed": "true" } : {}
            )
          })
        )
      ),
      HttpRouter.get(
        "/v1/payments/:id/events",
        v1((merchantId) =>
          Effect.flatMap(paymentIdParam, (id) =>
            Effect.map(payments.events(merchantId, id), (events) =>
              json(200, { data: events.map(View.event) })
            )
          )
        )
      ),
      HttpRouter.get(
        "/v1/analytics",
        v1((merchantId) =>
          Effect.gen(function* () {
            const q = new URL((yield* HttpServerRequest.HttpServerRequest).url, "http://x").searchParams
            const from = new Date(q.get("from") ?? "")
            const to = new Date(q.get("to") ?? "")
            if (Number.isNaN(from.getTime()))
              return yield* invalid("invalid_parameter", "from: must be an ISO 8601 date")
            if (Number.isNaN(to.getTime()))
              return yield* invalid("invalid_parameter", "to: must be an ISO 8601 date")
            if (from >= to) return yield* invalid("invalid_parameter", "from: must be before to")
            const stats = yield* readModel.analytics(merchantId, { from, to })
            return json(200, Schema.encodeSync(PaymentReadModel.Analytics)(stats))
          })
        )
      ),
      HttpRouter.get(
        "/v1/gateways/health",
        v1(() =>
          Effect.gen(function* () {
            const snapshots = yield* router.snapshots
            const data = yield* Effect.forEach(snapshots, (s) =>
              Effect.map(guard.health(s.id), (h) => ({
                gateway: s.id,
                score: h.score,
                successRate: h.successRate,
                errorRate: h.errorRate,
                latency: h.latency,
                circuitState: h.circuitState,
                volume: h.volume
              }))
            )
            return json(200, { data })
          })
        )
      ),
      HttpRouter.get(
        "/metrics",
        Effect.map(telemetry.prometheus, (text) =>
          HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" })
        )
      ),
      HttpRouter.get("/health/live", Effect.succeed(json(200, { status: "ok" }))),
      HttpRouter.get(
        "/health/ready",
        store.readAll({ after: 0n, limit: 1 }).pipe(
          Effect.as(json(200, { status: "ready" })),
          Effect.catchAll(() =>
            Effect.succeed(json(503, { status: "unavailable", reason: "the database is unreachable" }))
          )
        )
      ),
      HttpRouter.all("*", fail(404, "invalid_request_error", "not_found", "no such endpoint"))
    )

    /** Correlation id in and out, errors to the contract's body, never a 500 for bad input. */
    return Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const incoming = request.headers["x-correlation-id"]
      const correlationId =
        incoming !== undefined && /^[\x21-\x7e]{1,128}$/.test(incoming) ? incoming : yield* newCorrelationId
      const response = yield* routes.pipe(
        Effect.catchAll((e) => {
          const api = toApiError(e as { _tag: string; message: string })
          return Effect.succeed(
            json(api.status, { error: { type: api.type, code: api.code, message: api.message } })
          )
        }),
        Effect.catchAllDefect((defect) =>
          Effect.logError("request failed with a defect").pipe(
            Effect.annotateLogs({ defect: String(defect).slice(0, 300) }),
            Effect.as(
              json(500, {
                error: {
                  type: "api_error",
                  code: "internal_error",
                  message: `an internal error occurred (correlation id ${correlationId})`
                }
              })
            )
          )
        ),
        Effect.locally(RequestContext.correlationId, Option.some(correlationId)),
        Effect.annotateLogs({ correlationId })
      )
      return HttpServerResponse.setHeader(response, "X-Correlation-Id", correlationId)
    })
  })
