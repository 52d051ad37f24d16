/**
 * The implementation of `Api` on `HttpApiBuilder`: the handlers of each group, the bearer-key
 * middleware (constant-time lookup), and one API-wide middleware that gives every response its
 * `X-Correlation-Id` and turns every failure into the contract's error body.
 *
 * Endpoints with a JSON body use `handleRaw`: the platform would turn malformed JSON into a defect
 * (a 500) and has no body limit of 1 MiB, so the handler reads the body itself (413, `invalid_json`,
 * `missing_body`) and decodes it with the same schema that the document shows.
 *
 * @since 0.1.0
 */
import { Card, Customer, EventStore, Ids, Money, PaymentReadModel } from "@aegispay/core"
import {
  HttpApiBuilder,
  HttpApiError,
  HttpApiSwagger,
  HttpLayerRouter,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
  OpenApi
} from "@effect/platform"
import { GatewayGuard, PaymentService, RequestContext, Router, Telemetry } from "aegispay"
import { Duration, Effect, Layer, LogLevel, Option, ParseResult, Random, Redacted, Schema } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import {
  Api,
  ApiError,
  Authorization,
  CaptureBody,
  CreatePaymentBody,
  CurrentMerchant,
  RefundBody
} from "./Api.js"
import * as View from "./View.js"

const MAX_BODY = 1024 * 1024

const fail = (status: number, type: ApiError["type"], code: string, message: string) =>
  Effect.fail(new ApiError({ status, type, code, message }))
const invalid = (code: string, message: string) => fail(400, "invalid_request_error", code, message)

/** "field: message" (messages never contain card data). */
const describeIssue = (issue: { readonly path: ReadonlyArray<PropertyKey>; readonly message: string }) => {
  const path = issue.path.map(String).join(".")
  const message = /card\.(number|cvc)/.test(path)
    ? issue.message.replace(/"[^"]*"/g, "<redacted>")
    : issue.message
  return path === "" ? message : `${path}: ${message}`
}

const describe = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return issue === undefined ? "the request body is not valid" : describeIssue(issue)
}

const tooLarge = fail(413, "invalid_request_error", "body_too_large", "request bodies are limited to 1 MiB")

const readJson = <A, I>(
  request: HttpServerRequest.HttpServerRequest,
  schema: Schema.Schema<A, I>,
  allowEmpty = false
) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > MAX_BODY) return yield* tooLarge
    const text = yield* request.text.pipe(
      Effect.mapError(
        () =>
          new ApiError({
            status: 400,
            type: "invalid_request_error",
            code: "unreadable_body",
            message: "the request body could not be read"
          })
      )
    )
    if (text.length > MAX_BODY) return yield* tooLarge
    let json: unknown = {}
    if (text.trim().length > 0) {
      try {
        json = JSON.parse(text)
      } catch {
        return yield* invalid("invalid_json", "the request body is not valid JSON")
      }
    } else if (!allowEmpty) return yield* invalid("missing_body", "a JSON body is required")
    return yield* Schema.decodeUnknown(schema)(json).pipe(
      Effect.mapError(
        (e) =>
          new ApiError({
            status: 400,
            type: "invalid_request_error",
            code: "invalid_parameter",
            message: describe(e)
          })
      )
    )
  })

const paymentId = (raw: string) =>
  Schema.is(Ids.PaymentId)(raw)
    ? Effect.succeed(raw)
    : fail(404, "invalid_request_error", "payment_not_found", "no such payment")

const idempotencyKey = (raw: string | undefined) => {
  if (raw === undefined) return Effect.succeed(undefined)
  return Schema.is(Ids.IdempotencyKey)(raw)
    ? Effect.succeed(raw)
    : invalid(
        "invalid_idempotency_key",
        "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces"
      )
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers })

/**
 * Maps every orchestrator error to its status and body.
 *
 * @since 0.1.0
 * @category errors
 */
export const toApiError = (e: { readonly _tag: string; readonly message: string }): ApiError => {
  const api = (status: number, type: ApiError["type"], code: string, message: string) =>
    new ApiError({ status, type, code, message })
  switch (e._tag) {
    case "ApiError":
      return e as ApiError
    case "PaymentNotFound":
      return api(404, "invalid_request_error", "payment_not_found", "no such payment")
    case "InvalidTransition":
      return api(409, "invalid_request_error", "invalid_state", e.message)
    case "InvalidAmount": {
      const reason = (e as unknown as { reason: string }).reason
      const code =
        reason === "ExceedsRefundable" || reason === "NothingToRefund"
          ? "amount_exceeds_refundable"
          : reason === "ExceedsAuthorized"
            ? "amount_exceeds_authorized"
            : "invalid_amount"
      return api(422, "invalid_request_error", code, e.message)
    }
    case "IdempotencyKeyInUse":
      return api(409, "idempotency_error", "idempotency_key_in_use", e.message)
    case "IdempotencyKeyReused":
      return api(422, "idempotency_error", "idempotency_key_reused", e.message)
    case "GatewayRejected":
      return api(402, "gateway_error", "gateway_rejected", e.message)
    case "GatewayUnavailable":
      return api(503, "gateway_error", "gateway_unavailable", e.message)
    case "HookRejection":
      return api(422, "invalid_request_error", "rejected", e.message)
    case "InvalidCursor":
      return api(400, "invalid_request_error", "invalid_cursor", e.message)
    case "ConcurrencyConflict":
      return api(409, "api_error", "conflict", "the payment changed while the request ran; retry it")
    case "LockTimeout":
      return api(503, "api_error", "busy", "the payment is busy; retry the request")
    case "PersistenceError":
      return api(503, "api_error", "storage_unavailable", "storage is unavailable; retry later")
    default:
      return api(500, "api_error", "internal_error", "an internal error occurred")
  }
}

const toApi = Effect.mapError(toApiError)

// ---------------------------------------------------------------------------------------------
// security
// ---------------------------------------------------------------------------------------------

/**
 * The bearer-key middleware: the merchant of the key, found in constant time (SHA-256 digests
 * compared with `timingSafeEqual` against every key).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAuthorization = (keys: ReadonlyMap<string, string>) => {
  const digests = [...keys].map(([key, merchant]) => ({
    digest: createHash("sha256").update(key).digest(),
    merchant
  }))
  return Layer.succeed(
    Authorization,
    Authorization.of({
      bearer: (token) =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const bearer = (request.headers["authorization"] ?? "").startsWith("Bearer ")
            ? Redacted.value(token)
            : ""
          const digest = createHash("sha256").update(bearer).digest()
          let merchant: string | undefined
          for (const candidate of digests)
            if (timingSafeEqual(candidate.digest, digest)) merchant = candidate.merchant
          if (bearer === "" || merchant === undefined) {
            return yield* fail(
              401,
              "authentication_error",
              "unauthorized",
              "a valid API key is required: Authorization: Bearer <key>"
            )
          }
          return merchant as Ids.MerchantId
        })
    })
  )
}

// ---------------------------------------------------------------------------------------------
// groups
// ---------------------------------------------------------------------------------------------

const PaymentsLive = HttpApiBuilder.group(Api, "payments", (handlers) =>
  Effect.gen(function* () {
    const payments = yield* PaymentService.PaymentService
    const readModel = yield* PaymentReadModel.PaymentReadModel
    return handlers
      .handleRaw("create", ({ headers, request }) =>
        Effect.gen(function* () {
          const merchantId = yield* CurrentMerchant
          const key = yield* idempotencyKey(headers["idempotency-key"])
          const body = yield* readJson(request, CreatePaymentBody)
          const card = Schema.decodeSync(Card.CardDetails)({
            number: body.paymentMethod.card.number,
            expMonth: body.paymentMethod.card.expMonth,
            expYear: body.paymentMethod.card.expYear,
            ...(body.paymentMethod.card.cvc !== undefined ? { cvc: body.paymentMethod.card.cvc } : {})
          })
          const outcome = yield* toApi(
            payments.create({
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
          )
          return json(
            201,
            View.payment(outcome.value),
            outcome.replayed ? { "Idempotent-Replayed": "true" } : {}
          )
        })
      )
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          const merchantId = yield* CurrentMerchant
          const page = yield* toApi(
            readModel.list(merchantId, {
              limit: urlParams.limit ?? 20,
              ...(urlParams.status !== undefined ? { status: urlParams.status } : {}),
              ...(urlParams.customerId !== undefined
                ? { customerId: urlParams.customerId as Ids.CustomerId }
                : {}),
              ...(urlParams.cursor !== undefined ? { cursor: urlParams.cursor } : {})
            })
          )
          return json(200, {
            data: page.data.map(View.payment),
            nextCursor: Option.getOrNull(page.nextCursor)
          })
        })
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          const merchantId = yield* CurrentMerchant
          const id = yield* paymentId(path.id)
          return json(200, View.payment(yield* toApi(payments.get(merchantId, id))))
        })
      )
      .handleRaw("capture", ({ path, request }) =>
        Effect.gen(function* () {
          const merchantId = yield* CurrentMerchant
          const id = yield* paymentId(path.id)
          const body = yield* readJson(request, CaptureBody, true)
          const p = yield* toApi(
            payments.capture({
              merchantId,
              paymentId: id,
              amount: body.amount === undefined ? undefined : BigInt(body.amount)
            })
          )
          return json(200, View.payment(p))
        })
      )
      .handle("cancel", ({ path }) =>
        Effect.gen(function* () {
          const merchantId = yield* CurrentMerchant
          const id = yield* paymentId(path.id)
          return json(200, View.payment(yield* toApi(payments.cancel({ merchantId, paymentId: id }))))
        })
      )
      .handleRaw("refund", ({ headers, path, request }) =>
        Effect.gen(function* () {
          const merchantId = yield* CurrentMerchant
          const id = yield* paymentId(path.id)
          const key = yield* idempotencyKey(headers["idempotency-key"])
          const body = yield* readJson(request, RefundBody, true)
          const outcome = yield* toApi(
            payments.refund({
              merchantId,
              paymentId: id,
              idempotencyKey: key,
              amount: body.amount === undefined ? undefined : BigInt(body.amount),
              reason: body.reason
            })
          )
          return json(
            201,
            View.refund(outcome.value),
            outcome.replayed ? { "Idempotent-Replayed": "true" } : {}
          )
        })
      )
      .handle("events", ({ path }) =>
        Effect.gen(function* () {
          const merchantId = yield* CurrentMerchant
          const id = yield* paymentId(path.id)
          const events = yield* toApi(payments.events(merchantId, id))
          return json(200, { data: events.map(View.event) })
        })
      )
  })
)

const ReportsLive = HttpApiBuilder.group(Api, "reports", (handlers) =>
  Effect.gen(function* () {
    const readModel = yield* PaymentReadModel.PaymentReadModel
    const router = yield* Router.Router
    const guard = yield* GatewayGuard.GatewayGuard
    return handlers
      .handle("analytics", ({ urlParams }) =>
        Effect.gen(function* () {
          const merchantId = yield* CurrentMerchant
          const from = new Date(urlParams.from)
          const to = new Date(urlParams.to)
          if (from >= to) return yield* invalid("invalid_parameter", "from: must be before to")
          const stats = yield* toApi(readModel.analytics(merchantId, { from, to }))
          return json(200, Schema.encodeSync(PaymentReadModel.Analytics)(stats))
        })
      )
      .handle("gatewayHealth", () =>
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
  })
)

const OperationsLive = HttpApiBuilder.group(Api, "operations", (handlers) =>
  Effect.gen(function* () {
    const store = yield* EventStore.EventStore
    const telemetry = yield* Telemetry.Telemetry
    return handlers
      .handle("metrics", () =>
        Effect.map(telemetry.prometheus, (text) =>
          HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" })
        )
      )
      .handle("live", () => Effect.succeed(json(200, { status: "ok" })))
      .handle("ready", () =>
        store.readAll({ after: 0n, limit: 1 }).pipe(
          Effect.as(json(200, { status: "ready" })),
          Effect.catchAll(() =>
            Effect.succeed(json(503, { status: "unavailable", reason: "the database is unreachable" }))
          )
        )
      )
  })
)

const DocsLive = HttpApiBuilder.group(Api, "docs", (handlers) =>
  Effect.gen(function* () {
    const document = json(200, OpenApi.fromApi(Api))
    const swagger = yield* HttpLayerRouter.toHttpEffect(
      HttpApiSwagger.layerHttpLayerRouter({ api: Api, path: "/docs" })
    )
    return handlers
      .handle("openapi", () => Effect.succeed(document))
      .handle("swagger", () => Effect.orDie(swagger))
  })
)

// ---------------------------------------------------------------------------------------------
// the API-wide middleware
// ---------------------------------------------------------------------------------------------

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

const errorJson = (e: ApiError) =>
  json(e.status, { error: { type: e.type, code: e.code, message: e.message } })

const failureToApiError = (e: unknown): ApiError => {
  if (e instanceof ApiError) return e
  if (e instanceof HttpApiError.HttpApiDecodeError) {
    const issue = e.issues[0]
    return new ApiError({
      status: 400,
      type: "invalid_request_error",
      code: "invalid_parameter",
      message: issue === undefined ? "the request is not valid" : describeIssue(issue)
    })
  }
  if (HttpServerError.isServerError(e) && e._tag === "RouteNotFound")
    return new ApiError({
      status: 404,
      type: "invalid_request_error",
      code: "not_found",
      message: "no such endpoint"
    })
  return toApiError(e as { _tag: string; message: string })
}

/**
 * Correlation id in and out, every failure to the contract's body, never a 500 for bad input.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerContract = HttpApiBuilder.middleware(Api, (app) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const incoming = request.headers["x-correlation-id"]
    const correlationId =
      incoming !== undefined && /^[\x21-\x7e]{1,128}$/.test(incoming) ? incoming : yield* newCorrelationId
    const [elapsed, response] = yield* app.pipe(
      Effect.catchAll((e) => Effect.succeed(errorJson(failureToApiError(e)))),
      Effect.catchAllDefect((defect) =>
        Effect.logError("request failed with a defect").pipe(
          Effect.annotateLogs({ defect: String(defect).slice(0, 300) }),
          Effect.as(
            errorJson(
              new ApiError({
                status: 500,
                type: "api_error",
                code: "internal_error",
                message: `an internal error occurred (correlation id ${correlationId})`
              })
            )
          )
        )
      ),
      Effect.locally(RequestContext.correlationId, Option.some(correlationId)),
      Effect.annotateLogs({ correlationId }),
      Effect.timed
    )
    // one access line per request (path without its query); probes and scrapes only at debug
    const path = request.url.replace(/\?.*$/, "")
    const probe = path === "/metrics" || path.startsWith("/health/")
    yield* Effect.logWithLevel(probe ? LogLevel.Debug : LogLevel.Info, "http request").pipe(
      Effect.annotateLogs({
        correlationId,
        method: request.method,
        path,
        status: response.status,
        durationMs: Math.round(Duration.toMillis(elapsed) * 10) / 10
      })
    )
    return HttpServerResponse.setHeader(response, "X-Correlation-Id", correlationId)
  })
)

/**
 * `Api` with every group implemented, the bearer-key middleware and the contract middleware.
 * Needs `PaymentService`, `Router`, `GatewayGuard`, `EventStore`, `PaymentReadModel`, `Telemetry`,
 * and `HttpApiBuilder.Router` / `HttpApiBuilder.Middleware` to register on.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (apiKeys: ReadonlyMap<string, string>) =>
  HttpApiBuilder.api(Api).pipe(
    Layer.provide([PaymentsLive, ReportsLive, OperationsLive, DocsLive]),
    Layer.provide([layerAuthorization(apiKeys), layerContract])
  )
