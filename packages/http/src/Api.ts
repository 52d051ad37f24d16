/**
 * The HTTP contract of DESIGN.md section 5 as an `@effect/platform` `HttpApi`: every endpoint with
 * its path, query, headers, request body, success and error responses, and the bearer-key security
 * of the `/v1` groups. The server is built from it (`Handlers`) and `GET /openapi.json` is generated
 * from it (`OpenApi.fromApi`).
 *
 * Errors on the wire are `{"error": {"type", "code", "message"}}`; in the handlers they are one
 * `ApiError` carrying the status.
 *
 * @since 0.1.0
 */
import {
  Card,
  Currency,
  Customer,
  Failure,
  Ids,
  Payment,
  PaymentEvent,
  PaymentReadModel
} from "@aegispay/core"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "@effect/platform"
import { Context, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category errors
 */
export const ErrorType = Schema.Literal(
  "invalid_request_error",
  "authentication_error",
  "idempotency_error",
  "gateway_error",
  "api_error"
)

/**
 * An API error: the response status and the body's `type`, `code`, `message`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ApiError extends Schema.TaggedError<ApiError>("@aegispay/http/ApiError")("ApiError", {
  status: Schema.Int,
  type: ErrorType,
  code: Schema.String,
  message: Schema.String
}) {}

/**
 * The error body of every 4xx and 5xx answer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    type: ErrorType,
    code: Schema.String.annotations({ description: "machine-readable, e.g. payment_not_found" }),
    message: Schema.String.annotations({
      description: "for people; on bad input it names the field, and it never echoes card data"
    })
  })
}).annotations({ identifier: "Error" })

/**
 * The error response with the given status: `ApiError` in the handlers, `ErrorBody` on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const errorResponse = (status: number, description: string) =>
  Schema.transform(ErrorBody, Schema.typeSchema(ApiError).pipe(Schema.filter((e) => e.status === status)), {
    strict: true,
    decode: ({ error }) => new ApiError({ status, ...error }),
    encode: (e) => ({ error: { type: e.type, code: e.code, message: e.message } })
  }).annotations({ ...HttpApiSchema.annotations({ status }), description })

const BadRequest = (codes: string) =>
  errorResponse(400, `Invalid input (${codes}); error.message names the field`)
const NotFound = errorResponse(
  404,
  "No such payment for this merchant, or a malformed id (payment_not_found)"
)
const Unavailable = errorResponse(
  503,
  "Storage, lock or gateway trouble (storage_unavailable, busy, gateway_unavailable): retry with the same Idempotency-Key"
)

// ---------------------------------------------------------------------------------------------
// security
// ---------------------------------------------------------------------------------------------

/**
 * The merchant that the request's API key belongs to.
 *
 * @since 0.1.0
 * @category tags
 */
export class CurrentMerchant extends Context.Tag("@aegispay/http/CurrentMerchant")<
  CurrentMerchant,
  Ids.MerchantId
>() {}

/**
 * `Authorization: Bearer <key>`; each key belongs to one merchant.
 *
 * @since 0.1.0
 * @category middleware
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("@aegispay/http/Authorization", {
  failure: errorResponse(401, "Missing or unknown API key (unauthorized)"),
  provides: CurrentMerchant,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(OpenApi.Description, "An API key: `Authorization: Bearer <key>`")
    )
  }
}) {}

// ---------------------------------------------------------------------------------------------
// request schemas
// ---------------------------------------------------------------------------------------------

const MAX_AMOUNT = Number.MAX_SAFE_INTEGER

/**
 * A positive whole number of minor units, at most 2^53 - 1 (a float or a string is a 400).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Amount = Schema.Number.annotations({
  message: () => "must be a whole number of minor units"
}).pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n > 0, {
    message: () => "must be a positive whole number of minor units, at most 2^53 - 1",
    jsonSchema: {
      type: "integer",
      minimum: 1,
      maximum: MAX_AMOUNT,
      description: "minor units (cents), a positive integer"
    }
  })
)

const Cvc = Schema.String.annotations({ message: () => "must be a string of 3 or 4 digits" }).pipe(
  Schema.filter((s) => /^[0-9]{3,4}$/.test(s), {
    message: () => "must be a string of 3 or 4 digits",
    jsonSchema: { pattern: "^[0-9]{3,4}$" }
  })
)

/**
 * The body of `POST /v1/payments`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CreatePaymentBody = Schema.Struct({
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
      number: Card.CardNumberDigits.annotations({
        jsonSchema: {
          pattern: "^[0-9]{12,19}$",
          description: "12 to 19 digits passing the Luhn check; never stored, logged or echoed"
        }
      }),
      expMonth: Card.ExpMonth,
      expYear: Card.ExpYear,
      cvc: Schema.optionalWith(Cvc, { exact: true }),
      holderName: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(200)), { exact: true })
    })
  }),
  captureMethod: Schema.optionalWith(
    PaymentEvent.CaptureMethod.annotations({ description: "default automatic" }),
    { exact: true }
  ),
  gateway: Schema.optionalWith(Ids.GatewayId.annotations({ description: "pin one gateway" }), {
    exact: true
  }),
  description: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(1000)), { exact: true }),
  metadata: Schema.optionalWith(PaymentEvent.Metadata, { exact: true })
}).annotations({ identifier: "CreatePayment", parseOptions: { onExcessProperty: "ignore" } })

/**
 * The body of `POST /v1/payments/{id}/capture` (may be empty: captures the rest).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CaptureBody = Schema.Struct({
  amount: Schema.optionalWith(Amount, { exact: true })
}).annotations({ identifier: "Capture" })

/**
 * The body of `POST /v1/payments/{id}/refunds` (may be empty: refunds what is left).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RefundBody = Schema.Struct({
  amount: Schema.optionalWith(Amount, { exact: true }),
  reason: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(500)), { exact: true })
}).annotations({ identifier: "CreateRefund" })

const PaymentIdPath = Schema.Struct({
  id: Schema.String.annotations({
    description: "a payment id (pay_...); an unknown or malformed id is a 404"
  })
})

const IdempotencyHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(
    Schema.String.annotations({
      description:
        "1 to 255 printable ASCII characters without spaces: a retry with the same key and body replays the first answer (Idempotent-Replayed: true)"
    })
  )
})

const withMessage = <S extends Schema.Schema.Any>(schema: S, message: string) =>
  schema.annotations({ message: () => ({ message, override: true }) })

/**
 * The query of `GET /v1/payments`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListQuery = Schema.Struct({
  customerId: Schema.optional(Schema.String),
  status: Schema.optional(
    withMessage(Payment.PaymentStatus, `must be one of ${Payment.PaymentStatus.literals.join(", ")}`)
  ),
  limit: Schema.optional(
    withMessage(
      Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)),
      "must be a whole number from 1 to 100"
    ).annotations({ jsonSchema: { type: "integer", minimum: 1, maximum: 100, default: 20 } })
  ),
  cursor: Schema.optional(Schema.String.annotations({ description: "nextCursor of the previous page" }))
})

const Instant = withMessage(
  Schema.String.pipe(
    Schema.filter((s) => !Number.isNaN(new Date(s).getTime()), { jsonSchema: { format: "date-time" } })
  ),
  "must be an ISO 8601 date"
)

/**
 * The query of `GET /v1/analytics`: the half-open interval [from, to).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AnalyticsQuery = Schema.Struct({
  from: Schema.propertySignature(Instant).annotations({ missingMessage: () => "must be an ISO 8601 date" }),
  to: Schema.propertySignature(Instant).annotations({ missingMessage: () => "must be an ISO 8601 date" })
})

// ---------------------------------------------------------------------------------------------
// response schemas (the encoded side is what `View` writes)
// ---------------------------------------------------------------------------------------------

const Count = Schema.Int.pipe(Schema.nonNegative())
const Timestamp = Schema.String.annotations({ jsonSchema: { type: "string", format: "date-time" } })
const FailureView = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  category: Failure.FailureCategory
})

/**
 * A payment as the API shows it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PaymentView = Schema.Struct({
  id: Schema.String,
  status: Payment.PaymentStatus,
  amount: Count,
  currency: Schema.String,
  amountCaptured: Count,
  amountRefunded: Count,
  captureMethod: PaymentEvent.CaptureMethod,
  customerId: Schema.String,
  gateway: Schema.NullOr(Schema.String),
  card: Schema.Struct({ brand: Schema.String, last4: Schema.String }),
  failure: Schema.optionalWith(FailureView, { exact: true }),
  attempts: Count,
  version: Count,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  metadata: Schema.Record({ key: Schema.String, value: Schema.String })
}).annotations({ identifier: "Payment" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const RefundView = Schema.Struct({
  id: Schema.String,
  paymentId: Schema.String,
  amount: Count,
  currency: Schema.String,
  status: Schema.Literal("pending", "succeeded", "failed"),
  reason: Schema.optionalWith(Schema.String, { exact: true }),
  failure: Schema.optionalWith(FailureView, { exact: true }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}).annotations({ identifier: "Refund" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const EventView = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  version: Schema.Int.pipe(Schema.positive()),
  data: Schema.encodedSchema(PaymentEvent.PaymentEvent),
  metadata: Schema.Struct({
    correlationId: Schema.optionalWith(Schema.String, { exact: true }),
    causationId: Schema.optionalWith(Schema.String, { exact: true }),
    traceparent: Schema.optionalWith(Schema.String, { exact: true }),
    actor: Schema.optionalWith(Schema.String, { exact: true })
  }),
  recordedAt: Timestamp
}).annotations({ identifier: "PaymentEventRecord" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const PaymentPage = Schema.Struct({
  data: Schema.Array(PaymentView),
  nextCursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "PaymentPage" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const EventList = Schema.Struct({ data: Schema.Array(EventView) }).annotations({
  identifier: "PaymentEventList"
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const GatewayHealthView = Schema.Struct({
  gateway: Schema.String,
  score: Schema.Number,
  successRate: Schema.Number,
  errorRate: Schema.Number,
  latency: Schema.Struct({ p50: Schema.Number, p95: Schema.Number, p99: Schema.Number }),
  circuitState: Schema.String,
  volume: Count
}).annotations({ identifier: "GatewayHealth" })

/**
 * @since 0.1.0
 * @category schemas
 */
export const GatewayHealthList = Schema.Struct({ data: Schema.Array(GatewayHealthView) }).annotations({
  identifier: "GatewayHealthList"
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const AnalyticsView = Schema.encodedSchema(PaymentReadModel.Analytics).annotations({
  identifier: "Analytics"
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const HealthView = Schema.Struct({ status: Schema.Literal("ok", "ready") }).annotations({
  identifier: "Health"
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const NotReady = Schema.Struct({
  status: Schema.Literal("unavailable"),
  reason: Schema.String
}).annotations({
  identifier: "NotReady",
  ...HttpApiSchema.annotations({ status: 503 }),
  description: "The database is unreachable"
})

// ---------------------------------------------------------------------------------------------
// endpoints
// ---------------------------------------------------------------------------------------------

/**
 * Payments: create, read, capture, cancel, refund, events, list.
 *
 * @since 0.1.0
 * @category groups
 */
export class PaymentsGroup extends HttpApiGroup.make("payments")
  .add(
    HttpApiEndpoint.post("create", "/v1/payments")
      .setHeaders(IdempotencyHeaders)
      .setPayload(CreatePaymentBody)
      .addSuccess(PaymentView, { status: 201 })
      .addError(BadRequest("invalid_json, missing_body, invalid_parameter, invalid_idempotency_key"))
      .addError(
        errorResponse(
          409,
          "The Idempotency-Key is in use by a request still running (idempotency_key_in_use)"
        )
      )
      .addError(errorResponse(413, "The body is over 1 MiB (body_too_large)"))
      .addError(
        errorResponse(
          422,
          "The Idempotency-Key was used with another body (idempotency_key_reused), or a hook rejected the payment (rejected)"
        )
      )
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Create a payment")
      .annotate(
        OpenApi.Description,
        "Authorizes (and, with captureMethod automatic, captures) a card payment through the routed gateway. A decline is a 201 with status failed and failure."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/payments")
      .setUrlParams(ListQuery)
      .addSuccess(PaymentPage)
      .addError(BadRequest("invalid_parameter, invalid_cursor"))
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "List payments, newest first")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/payments/:id")
      .setPath(PaymentIdPath)
      .addSuccess(PaymentView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Get a payment")
  )
  .add(
    HttpApiEndpoint.post("capture", "/v1/payments/:id/capture")
      .setPath(PaymentIdPath)
      .setPayload(CaptureBody)
      .addSuccess(PaymentView)
      .addError(BadRequest("invalid_json, invalid_parameter"))
      .addError(NotFound)
      .addError(errorResponse(409, "The payment cannot be captured in its state (invalid_state)"))
      .addError(errorResponse(413, "The body is over 1 MiB (body_too_large)"))
      .addError(
        errorResponse(
          422,
          "The amount is over what is authorized and not yet captured (amount_exceeds_authorized, invalid_amount)"
        )
      )
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Capture an authorized payment, in full or in part")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/v1/payments/:id/cancel")
      .setPath(PaymentIdPath)
      .addSuccess(PaymentView)
      .addError(NotFound)
      .addError(errorResponse(409, "The payment cannot be cancelled in its state (invalid_state)"))
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Cancel a payment (an authorization is voided at the PSP)")
  )
  .add(
    HttpApiEndpoint.post("refund", "/v1/payments/:id/refunds")
      .setPath(PaymentIdPath)
      .setHeaders(IdempotencyHeaders)
      .setPayload(RefundBody)
      .addSuccess(RefundView, { status: 201 })
      .addError(BadRequest("invalid_json, invalid_parameter, invalid_idempotency_key"))
      .addError(NotFound)
      .addError(
        errorResponse(
          409,
          "Not captured, fully refunded (invalid_state), or the Idempotency-Key is in use (idempotency_key_in_use)"
        )
      )
      .addError(errorResponse(413, "The body is over 1 MiB (body_too_large)"))
      .addError(
        errorResponse(
          422,
          "The amount is over what is refundable (amount_exceeds_refundable), or the Idempotency-Key was used with another body (idempotency_key_reused)"
        )
      )
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Refund a captured payment, in full or in part")
  )
  .add(
    HttpApiEndpoint.get("events", "/v1/payments/:id/events")
      .setPath(PaymentIdPath)
      .addSuccess(EventList)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "The payment's events, versions 1, 2, 3 ...")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Payments") {}

/**
 * @since 0.1.0
 * @category groups
 */
export class ReportsGroup extends HttpApiGroup.make("reports")
  .add(
    HttpApiEndpoint.get("analytics", "/v1/analytics")
      .setUrlParams(AnalyticsQuery)
      .addSuccess(AnalyticsView)
      .addError(BadRequest("invalid_parameter"))
      .addError(Unavailable)
      .annotate(
        OpenApi.Summary,
        "Counts and volume by status, currency and gateway; per-gateway success rate and latency"
      )
  )
  .add(
    HttpApiEndpoint.get("gatewayHealth", "/v1/gateways/health")
      .addSuccess(GatewayHealthList)
      .annotate(OpenApi.Summary, "Per gateway: score, success and error rates, latency, circuit, volume")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Reports") {}

/**
 * Unauthenticated operations endpoints.
 *
 * @since 0.1.0
 * @category groups
 */
export class OperationsGroup extends HttpApiGroup.make("operations")
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(
        HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" }).annotations({
          description: "Prometheus text exposition"
        })
      )
      .annotate(OpenApi.Summary, "Prometheus metrics")
  )
  .add(
    HttpApiEndpoint.get("live", "/health/live").addSuccess(HealthView).annotate(OpenApi.Summary, "Liveness")
  )
  .add(
    HttpApiEndpoint.get("ready", "/health/ready")
      .addSuccess(HealthView)
      .addError(NotReady)
      .annotate(OpenApi.Summary, "Readiness: 503 when the database is unreachable")
  )
  .annotate(OpenApi.Title, "Operations") {}

/**
 * This document and its Swagger UI.
 *
 * @since 0.1.0
 * @category groups
 */
export class DocsGroup extends HttpApiGroup.make("docs")
  .add(
    HttpApiEndpoint.get("openapi", "/openapi.json")
      .addSuccess(Schema.Unknown.annotations({ description: "This OpenAPI document" }))
      .annotate(OpenApi.Summary, "The OpenAPI document")
  )
  .add(
    HttpApiEndpoint.get("swagger", "/docs")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/html" }).annotations({ description: "Swagger UI" }))
      .annotate(OpenApi.Summary, "Swagger UI over this document")
  )
  .annotate(OpenApi.Title, "Documentation") {}

const ApiDecodeErrorRef = "#/components/schemas/HttpApiDecodeError"

/**
 * `HttpApi.make` documents its own decode error as a 400 of every endpoint; the handlers answer
 * decode errors with `ErrorBody` instead, so the document drops it.
 */
const dropPlatformDecodeError = (spec: Record<string, unknown>): Record<string, unknown> => {
  const doc = spec as unknown as OpenApi.OpenAPISpec
  for (const operations of Object.values(doc.paths)) {
    for (const op of Object.values(operations) as Array<OpenApi.OpenAPISpecOperation>) {
      const bad = op.responses[400]
      const schema = bad?.content?.["application/json"]?.schema as
        { $ref?: string; anyOf?: ReadonlyArray<{ $ref?: string }> } | undefined
      if (bad === undefined || schema === undefined) continue
      const rest = (schema.anyOf ?? [schema]).filter((s) => s.$ref !== ApiDecodeErrorRef)
      if (rest.length === 0) {
        delete op.responses[400]
        continue
      }
      const own = rest[0] as { description?: string }
      bad.content!["application/json"]!.schema = (rest.length === 1 ? own : { anyOf: rest }) as never
      bad.description = own.description ?? "Invalid input; error.message names the field"
    }
  }
  const schemas = doc.components.schemas as Record<string, unknown>
  delete schemas["HttpApiDecodeError"]
  delete schemas["Issue"]
  delete schemas["PropertyKey"]
  return spec
}

/**
 * The whole API.
 *
 * @since 0.1.0
 * @category api
 */
export class Api extends HttpApi.make("aegispay")
  .add(PaymentsGroup)
  .add(ReportsGroup)
  .add(OperationsGroup)
  .add(DocsGroup)
  .annotate(OpenApi.Title, "AegisPay")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    'Payment orchestration. All bodies are JSON; amounts are integers in minor units; errors are {"error": {"type", "code", "message"}}. Every response carries X-Correlation-Id (the request\'s, or a new one). Request bodies over 1 MiB are a 413.'
  )
  .annotate(OpenApi.Transform, dropPlatformDecodeError) {}

/**
 * The OpenAPI 3.1 document of `Api`.
 *
 * @since 0.1.0
 * @category api
 */
export const openApi = (): OpenApi.OpenAPISpec => OpenApi.fromApi(Api)
