/**
 * The PayPal adapter: Orders v2 and Payments v2 over PayPal's REST API, mapped to the AegisPay
 * taxonomy.
 *
 * **Authentication.** An OAuth2 client-credentials token (`POST /v1/oauth2/token`, HTTP Basic with
 * the client id and secret) is kept in a `SynchronizedRef` owned by the gateway, reused across
 * calls and refreshed a margin before its `expires_in` runs out, as measured by `Clock`. A 401 from
 * an API call drops the token, fetches a new one and sends the call once more; a second 401 is
 * `Misconfigured`. Failures of the token call itself can never have moved money, so a timeout or a
 * 5xx there is `Retryable`, and a 400/401/403 (wrong client id or secret) is `Misconfigured`.
 *
 * **Payments.** `authorize` creates an order (`POST /v2/checkout/orders`, intent `CAPTURE` for
 * automatic capture and `AUTHORIZE` for manual) with the card (or a vaulted card's id as
 * `payment_source.card.vault_id`), `reference_id` and `custom_id` set to our attempt key, the
 * amount as the currency's decimal string, `PayPal-Request-Id` = attempt key and
 * `Prefer: return=representation`. When PayPal answers the order `APPROVED` rather than processing
 * it at once, the adapter completes it with `POST /v2/checkout/orders/{id}/authorize|capture`
 * (`PayPal-Request-Id` = attempt key plus `:authorize` or `:capture`). The gateway reference is the
 * order id. `capture` looks up the order's authorization and calls
 * `POST /v2/payments/authorizations/{id}/capture` (`final_capture: true`), `void` calls
 * `POST /v2/payments/authorizations/{id}/void` and `refund` calls
 * `POST /v2/payments/captures/{id}/refund` on the order's first completed capture, each with the
 * caller's idempotency key as `PayPal-Request-Id`. A 5xx on a POST is retried with the same
 * `PayPal-Request-Id` (PayPal's documented remedy), then given up as `Ambiguous`.
 *
 * **Status of a lost reply.** Orders v2 has no search by `custom_id`. PayPal documents that a POST
 * repeating an earlier `PayPal-Request-Id` gets "the latest status of the previous request" instead
 * of being processed again, so `status(key)` re-sends the create with the attempt key as
 * `PayPal-Request-Id`, then reads the order it names with `GET /v2/checkout/orders/{id}`. The
 * re-sent body is a probe that cannot move money: an order with no payment source, described
 * {@link statusProbeDescription}. If PayPal never saw the key it creates that probe order, which
 * waits for a buyer who never comes and expires unpaid, and the answer is `NotFound`; a repeated
 * decline is `Declined`. This holds while PayPal keeps the request id (hours, per PayPal's
 * reference), so reconcile within that window; later, a charged attempt would be reported
 * `NotFound`.
 *
 * **Errors.** PayPal's error body is `{name, message, debug_id, details: [{issue, description}]}`;
 * `pspRequestId` is the `Paypal-Debug-Id` header, or `debug_id` from the body. A 2xx whose body is
 * not the expected object is `Ambiguous`.
 *
 * | answer | error |
 * |---|---|
 * | 429 | `Retryable` (`rate_limited`, with Retry-After) |
 * | 5xx on a POST, after retries | `Ambiguous` (`server_error_<status>`) |
 * | 5xx on a GET | `Retryable` |
 * | 409 on a POST (same request id in flight) | `Ambiguous` |
 * | 401 after a token refresh, 403 | `Misconfigured` |
 * | processor response code (capture `DECLINED`, authorization `DENIED`, or in a 422) | {@link processorResponses} |
 * | issue in {@link hardDeclineIssues} | `HardDecline` |
 * | issue in {@link softDeclineIssues} | `SoftDecline` |
 * | any other 4xx (`INVALID_REQUEST`, `PAYEE_*`, `RESOURCE_NOT_FOUND`, ...) | `Misconfigured` |
 * | order `PAYER_ACTION_REQUIRED` (3-D Secure) | `SoftDecline` |
 *
 * Hard declines are what no retry and no other PSP can fix (expired or closed card, wrong security
 * code, insufficient funds as in the Stripe adapter, fraud, lost or stolen); soft ones may pass on
 * another try or elsewhere (generic decline, do not honor, issuer unavailable). Processor codes:
 *
 * | kind | codes |
 * |---|---|
 * | hard | 0390 1330 1380 1382 5110 5120 5140 5150 5160 5180 5400 5700 5930 5950 6300 9500 9510 9520 9540 |
 * | soft | 00N7 0100 0500 0580 0800 0960 10BR 5100 5170 5190 5200 5650 5710 5910 5920 9100 9530 9600, and any code not listed |
 * | misconfigured | 1300 1310 1312 1320 1340 1350 1360 1370 |
 *
 * No message carries the client secret, the token or card data: header values are never read into
 * errors and long digit runs in PayPal's texts are masked.
 *
 * @since 0.1.0
 */
import type { Fee, Ids } from "@aegispay/core"
import { Gateway, GatewayError, Money } from "@aegispay/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Either, Encoding, Option, ParseResult, Redacted, Schedule, Schema } from "effect"
import { probe } from "./internal/health.js"
import {
  type Common,
  commonOf,
  rateLimited,
  requestIdOf as requestIdField,
  scrub as scrubPans
} from "./internal/errorFields.js"
import { send, type Reply } from "./internal/call.js"
import { type AccessToken, makeTokenCache } from "./internal/paypalToken.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  readonly id: Ids.GatewayId
  /** e.g. PayPal's sandbox or live API origin. */
  readonly baseUrl: string
  readonly clientId: Redacted.Redacted<string>
  readonly clientSecret: Redacted.Redacted<string>
  readonly fees?: Fee.FeeSchedule | undefined
  /** Per call (default 10 s); a payment call that takes longer is `Ambiguous`. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Retries of a 5xx with the same `PayPal-Request-Id` before giving up as `Ambiguous` (default 2). */
  readonly serverErrorRetries?: number | undefined
  /** Refresh the access token this long before it expires (default 60 s). */
  readonly tokenRefreshMargin?: Duration.DurationInput | undefined
}

/**
 * The description of the order `status` creates when PayPal has never seen an attempt key.
 *
 * @since 0.1.0
 * @category constants
 */
export const statusProbeDescription = "aegispay status probe: not a payment"

/** `{currency_code, value}` as minor units; a value that is not an amount of the currency fails. */
const MinorAmount = Schema.transformOrFail(
  Schema.Struct({ currency_code: Schema.String, value: Schema.String }),
  Schema.BigIntFromSelf,
  {
    strict: true,
    decode: (amount, _, ast) =>
      Either.match(Money.parse(amount.value, amount.currency_code), {
        onLeft: (e) => ParseResult.fail(new ParseResult.Type(ast, amount, e.message)),
        onRight: (m) => ParseResult.succeed(m.amount)
      }),
    encode: (n, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, n, "amounts are only decoded"))
  }
)

const ProcessorResponse = Schema.Struct({ response_code: Schema.optional(Schema.String) })

const Capture = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  amount: Schema.optional(MinorAmount),
  processor_response: Schema.optional(ProcessorResponse)
})
type Capture = typeof Capture.Type

const Authorization = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  amount: Schema.optional(MinorAmount),
  processor_response: Schema.optional(ProcessorResponse)
})
type Authorization = typeof Authorization.Type

const Refund = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  amount: Schema.optional(MinorAmount)
})

const Order = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  intent: Schema.optional(Schema.String),
  payment_source: Schema.optional(Schema.Unknown),
  purchase_units: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({
        reference_id: Schema.optional(Schema.String),
        custom_id: Schema.optional(Schema.String),
        description: Schema.optional(Schema.String),
        amount: Schema.optional(MinorAmount),
        payments: Schema.optional(
          Schema.Struct({
            authorizations: Schema.optionalWith(Schema.Array(Authorization), { default: () => [] }),
            captures: Schema.optionalWith(Schema.Array(Capture), { default: () => [] }),
            refunds: Schema.optionalWith(Schema.Array(Refund), { default: () => [] })
          })
        )
      })
    ),
    { default: () => [] }
  )
})
type Order = typeof Order.Type

const Token = Schema.Struct({
  access_token: Schema.Redacted(Schema.String),
  expires_in: Schema.Number.pipe(Schema.positive())
})

const ErrorBody = Schema.Struct({
  name: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
  debug_id: Schema.optional(Schema.String),
  details: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({
        issue: Schema.String,
        description: Schema.optional(Schema.String),
        processor_response: Schema.optional(ProcessorResponse)
      })
    ),
    { default: () => [] }
  ),
  processor_response: Schema.optional(ProcessorResponse)
})

/**
 * `details[].issue` values that no retry and no other PSP can fix.
 *
 * @since 0.1.0
 * @category mapping
 */
export const hardDeclineIssues: ReadonlySet<string> = new Set([
  "CARD_EXPIRED",
  "CARD_CLOSED",
  "INVALID_SECURITY_CODE",
  "INVALID_SECURITY_CODE_LENGTH",
  "CARD_TYPE_NOT_SUPPORTED",
  "CURRENCY_NOT_SUPPORTED_FOR_CARD_TYPE",
  "PAYER_ACCOUNT_RESTRICTED",
  "PAYER_ACCOUNT_LOCKED_OR_CLOSED",
  "PAYER_CANNOT_PAY",
  "COMPLIANCE_VIOLATION"
])

/**
 * `details[].issue` values that may pass on another try or at another PSP.
 *
 * @since 0.1.0
 * @category mapping
 */
export const softDeclineIssues: ReadonlySet<string> = new Set([
  "INSTRUMENT_DECLINED",
  "TRANSACTION_REFUSED",
  "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
  "TRANSACTION_LIMIT_EXCEEDED",
  "DECLINED_DUE_TO_RELATED_TXN",
  "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
  "PAYER_ACTION_REQUIRED"
])

type Kind = "hard" | "soft" | "misconfigured"

/**
 * PayPal's card processor response codes: name and how the adapter classifies them. A code not
 * listed is a soft decline.
 *
 * @since 0.1.0
 * @category mapping
 */
export const processorResponses: ReadonlyMap<string, readonly [name: string, kind: Kind]> = new Map([
  ["0390", ["account_not_found", "hard"]],
  ["1330", ["invalid_account", "hard"]],
  ["1380", ["invalid_expiration", "hard"]],
  ["1382", ["invalid_card_verification_value", "hard"]],
  ["5110", ["cvv2_failure", "hard"]],
  ["5120", ["insufficient_funds", "hard"]],
  ["5140", ["card_closed", "hard"]],
  ["5150", ["pickup_card_special_conditions", "hard"]],
  ["5160", ["unauthorized_user", "hard"]],
  ["5180", ["invalid_or_restricted_card", "hard"]],
  ["5400", ["expired_card", "hard"]],
  ["5700", ["transaction_not_permitted", "hard"]],
  ["5930", ["card_not_activated", "hard"]],
  ["5950", ["declined_due_to_updated_account", "hard"]],
  ["6300", ["account_not_on_file", "hard"]],
  ["9500", ["suspected_fraud", "hard"]],
  ["9510", ["security_violation", "hard"]],
  ["9520", ["lost_or_stolen", "hard"]],
  ["9540", ["refused_card", "hard"]],
  ["00N7", ["cvv2_failure_possible_retry_with_cvv", "soft"]],
  ["0100", ["referral", "soft"]],
  ["0500", ["do_not_honor", "soft"]],
  ["0580", ["unauthorized_transaction", "soft"]],
  ["0800", ["bad_response_reversal_required", "soft"]],
  ["0960", ["system_malfunction", "soft"]],
  ["10BR", ["issuer_rejected", "soft"]],
  ["5100", ["generic_decline", "soft"]],
  ["5170", ["avs_failure", "soft"]],
  ["5190", ["soft_avs", "soft"]],
  ["5200", ["duplicate_transaction", "soft"]],
  ["5650", ["declined_sca_required", "soft"]],
  ["5710", ["tx_attempts_exceed_limit", "soft"]],
  ["5910", ["issuer_not_available_not_retriable", "soft"]],
  ["5920", ["issuer_not_available_retriable", "soft"]],
  ["9100", ["declined_please_retry", "soft"]],
  ["9530", ["hold_call_center", "soft"]],
  ["9600", ["unrecognized_response_code", "soft"]],
  ["1300", ["invalid_data_format", "misconfigured"]],
  ["1310", ["invalid_amount", "misconfigured"]],
  ["1312", ["invalid_transaction_card_issuer_acquirer", "misconfigured"]],
  ["1320", ["invalid_currency_code", "misconfigured"]],
  ["1340", ["invalid_terminal", "misconfigured"]],
  ["1350", ["invalid_merchant", "misconfigured"]],
  ["1360", ["bad_processing_code", "misconfigured"]],
  ["1370", ["invalid_mcc", "misconfigured"]]
])

const scrub = (text: string): string => scrubPans(text).slice(0, 500)

/**
 * Maps a processor response code to a decline.
 *
 * @since 0.1.0
 * @category mapping
 */
export const classifyProcessorResponse = (
  common: Common,
  code: string
): GatewayError.HardDecline | GatewayError.SoftDecline | GatewayError.Misconfigured => {
  const [name, kind] = processorResponses.get(code) ?? [`processor_${code.toLowerCase()}`, "soft" as const]
  const detail = `PayPal processor response ${code} (${name})`
  return kind === "hard"
    ? new GatewayError.HardDecline({ ...common, code: name, detail })
    : kind === "soft"
      ? new GatewayError.SoftDecline({ ...common, code: name, detail })
      : new GatewayError.Misconfigured({ ...common, code: name, detail })
}

const requestIdOf = (reply: Reply): string | undefined =>
  reply.requestId ??
  Option.getOrUndefined(
    Option.flatMap(Option.flatMap(reply.body, Schema.decodeUnknownOption(ErrorBody)), (b) =>
      Option.fromNullable(b.debug_id)
    )
  )

/**
 * Maps a PayPal answer that is not a success to the taxonomy. `mutating` tells a POST (where a 5xx
 * may have been processed) from a GET.
 *
 * @since 0.1.0
 * @category mapping
 */
export const classify = (
  gateway: Ids.GatewayId,
  reply: Reply,
  options: { readonly mutating: boolean }
): GatewayError.GatewayError => {
  const parsed = Option.flatMap(reply.body, Schema.decodeUnknownOption(ErrorBody))
  const common = commonOf(gateway, reply.status, requestIdOf(reply))
  const body = Option.getOrUndefined(parsed)
  const issue = body?.details[0]?.issue ?? body?.name
  const code = issue !== undefined ? issue.toLowerCase() : `http_${reply.status}`
  const detail = scrub(
    body?.details[0]?.description ?? body?.message ?? `unexpected HTTP ${reply.status} from PayPal`
  )
  if (reply.status === 429) {
    return rateLimited(common, detail, reply.retryAfter)
  }
  if (reply.status >= 500) {
    const serverCode = `server_error_${reply.status}`
    // PayPal documents a 5xx as worth retrying with the same PayPal-Request-Id: it may have been processed
    return options.mutating
      ? new GatewayError.Ambiguous({ ...common, code: serverCode, detail })
      : new GatewayError.Retryable({ ...common, code: serverCode, detail })
  }
  if (reply.status === 401)
    return new GatewayError.Misconfigured({ ...common, code: "authentication_failed", detail })
  if (reply.status === 403) return new GatewayError.Misconfigured({ ...common, code, detail })
  if (reply.status === 409 && options.mutating) {
    return new GatewayError.Ambiguous({
      ...common,
      code: "request_in_progress",
      detail: "PayPal is still processing a request with the same PayPal-Request-Id"
    })
  }
  const processorCode =
    body?.processor_response?.response_code ??
    body?.details.find((d) => d.processor_response?.response_code !== undefined)?.processor_response
      ?.response_code
  if (processorCode !== undefined) return classifyProcessorResponse(common, processorCode)
  const issues = body?.details.map((d) => d.issue) ?? []
  const hard = issues.find((i) => hardDeclineIssues.has(i))
  if (hard !== undefined) return new GatewayError.HardDecline({ ...common, code: hard.toLowerCase(), detail })
  const soft = issues.find((i) => softDeclineIssues.has(i))
  if (soft !== undefined) return new GatewayError.SoftDecline({ ...common, code: soft.toLowerCase(), detail })
  return new GatewayError.Misconfigured({ ...common, code, detail })
}

const completedCapture = (c: Capture) =>
  c.status === "COMPLETED" || c.status === "PARTIALLY_REFUNDED" || c.status === "REFUNDED"

const paymentsOf = (order: Order) => {
  const unit = order.purchase_units[0]
  return {
    unit,
    authorizations: unit?.payments?.authorizations ?? [],
    captures: unit?.payments?.captures ?? [],
    refunds: unit?.payments?.refunds ?? []
  }
}

/** The decline an order carries, if its capture or authorization was refused. */
const declineOf = (
  gateway: Ids.GatewayId,
  order: Order,
  status: number | undefined,
  requestId: string | undefined
): Option.Option<GatewayError.GatewayError> => {
  const common = commonOf(gateway, status, requestId)
  if (order.status === "PAYER_ACTION_REQUIRED") {
    return Option.some(
      new GatewayError.SoftDecline({
        ...common,
        code: "payer_action_required",
        detail: "PayPal requires the payer to act (e.g. 3-D Secure) before the card can be charged"
      })
    )
  }
  const { authorizations, captures } = paymentsOf(order)
  const refused: Capture | Authorization | undefined =
    captures.length > 0 && !captures.some(completedCapture) && !captures.some((c) => c.status === "PENDING")
      ? captures.find((c) => c.status === "DECLINED" || c.status === "FAILED")
      : authorizations.find((a) => a.status === "DENIED")
  if (refused === undefined) return Option.none()
  const code = refused.processor_response?.response_code
  return Option.some(
    code !== undefined
      ? classifyProcessorResponse(common, code)
      : new GatewayError.SoftDecline({
          ...common,
          code: refused.status.toLowerCase(),
          detail: `PayPal reports the payment ${refused.status}`
        })
  )
}

const sum = (xs: ReadonlyArray<bigint>) => xs.reduce((a, b) => a + b, 0n)

const toPayment = (order: Order, requestId: string | undefined): Gateway.GatewayPayment => {
  const { authorizations, captures, refunds, unit } = paymentsOf(order)
  const captured = sum(captures.filter(completedCapture).map((c) => c.amount ?? 0n))
  const refunded = sum(refunds.filter((r) => r.status === "COMPLETED").map((r) => r.amount ?? 0n))
  const auth = authorizations[0]
  const status: Gateway.GatewayPayment["status"] =
    order.status === "VOIDED"
      ? "voided"
      : captured > 0n
        ? "captured"
        : auth !== undefined
          ? auth.status === "CREATED"
            ? "authorized"
            : auth.status === "CAPTURED"
              ? "captured"
              : auth.status === "VOIDED" || auth.status === "EXPIRED"
                ? "voided"
                : auth.status === "PENDING"
                  ? "pending"
                  : "failed"
          : captures.some((c) => c.status === "PENDING")
            ? "pending"
            : order.status === "COMPLETED" || captures.length > 0
              ? "failed"
              : "pending"
  const authorized =
    auth?.amount ?? (status === "failed" || status === "pending" ? 0n : (unit?.amount ?? captured))
  return new Gateway.GatewayPayment({
    gatewayReference: order.id,
    status,
    amountAuthorized: authorized,
    amountCaptured: captured,
    amountRefunded: refunded,
    ...requestIdField(requestId)
  })
}

const moneyJson = (money: Money.Money) => ({ currency_code: money.currency, value: Money.format(money) })

const cardSource = (method: Gateway.PaymentMethod) =>
  method._tag === "Token"
    ? { card: { vault_id: Redacted.value(method.token) } }
    : {
        card: {
          number: Redacted.value(method.card.number),
          expiry: `${method.card.expYear}-${String(method.card.expMonth).padStart(2, "0")}`,
          ...(method.card.cvc !== undefined ? { security_code: Redacted.value(method.card.cvc) } : {}),
          ...(method.card.holderName !== undefined ? { name: method.card.holderName } : {})
        }
      }

/**
 * A PayPal gateway. The access token cache belongs to the returned gateway.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Gateway.Gateway, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const timeout = config.timeout ?? "10 seconds"
    const base = config.baseUrl.replace(/\/+$/, "")
    const call = (request: HttpClientRequest.HttpClientRequest) =>
      send(client, config.id, request, timeout, "paypal-debug-id")

    const unparseable = (reply: Reply, what: string) =>
      new GatewayError.Ambiguous({
        ...commonOf(config.id, reply.status, requestIdOf(reply)),
        code: "unparseable_success",
        detail: `PayPal answered ${reply.status} with a body that is not ${what}`
      })

    const fetchToken = call(
      HttpClientRequest.post(`${base}/v1/oauth2/token`).pipe(
        HttpClientRequest.setHeader(
          "authorization",
          `Basic ${Encoding.encodeBase64(`${Redacted.value(config.clientId)}:${Redacted.value(config.clientSecret)}`)}`
        ),
        HttpClientRequest.setHeader("accept", "application/json"),
        HttpClientRequest.bodyText("grant_type=client_credentials", "application/x-www-form-urlencoded")
      )
    ).pipe(
      // nothing can have been charged by a token request: not being sure of its outcome is retryable
      Effect.catchTag("Ambiguous", (e) =>
        Effect.fail(
          new GatewayError.Retryable({
            ...commonOf(config.id, e.httpStatus, e.pspRequestId),
            code: `token_${e.code}`,
            detail: e.detail
          })
        )
      ),
      Effect.flatMap((reply) => {
        const common = commonOf(config.id, reply.status, requestIdOf(reply))
        if (reply.status >= 200 && reply.status < 300) {
          return Option.match(Option.flatMap(reply.body, Schema.decodeUnknownOption(Token)), {
            onNone: () =>
              Effect.fail(
                new GatewayError.Misconfigured({
                  ...common,
                  code: "token_unparseable",
                  detail: "PayPal's token endpoint answered with a body that is not a token"
                })
              ),
            onSome: (t) =>
              Effect.succeed({ value: t.access_token, expiresIn: Duration.seconds(t.expires_in) })
          })
        }
        const error = classify(config.id, reply, { mutating: false })
        return Effect.fail(
          reply.status === 400 || reply.status === 401 || reply.status === 403
            ? new GatewayError.Misconfigured({
                ...common,
                code: "authentication_failed",
                detail: "PayPal refused the client credentials"
              })
            : error
        )
      }),
      Effect.withSpan("PayPal.token", { attributes: { gateway: config.id } })
    )

    const tokens = yield* makeTokenCache(fetchToken, config.tokenRefreshMargin ?? "60 seconds")

    /** Sends with the current token; on a 401 gets a new token and sends once more. */
    const authed = (request: HttpClientRequest.HttpClientRequest) => {
      const attempt = (token: AccessToken) =>
        call(
          HttpClientRequest.setHeaders(request, {
            authorization: `Bearer ${Redacted.value(token.value)}`,
            accept: "application/json"
          })
        )
      return Effect.gen(function* () {
        const token = yield* tokens.get
        const reply = yield* attempt(token)
        if (reply.status !== 401) return reply
        yield* tokens.invalidate(token)
        return yield* attempt(yield* tokens.get)
      })
    }

    const decodeOk = <A, I>(
      reply: Reply,
      schema: Schema.Schema<A, I>,
      what: string,
      mutating: boolean
    ): Effect.Effect<{ readonly value: A; readonly reply: Reply }, GatewayError.GatewayError> =>
      reply.status >= 200 && reply.status < 300
        ? Option.match(Option.flatMap(reply.body, Schema.decodeUnknownOption(schema)), {
            onNone: () => Effect.fail(unparseable(reply, what)),
            onSome: (value) => Effect.succeed({ value, reply })
          })
        : Effect.fail(classify(config.id, reply, { mutating }))

    /** A POST with `PayPal-Request-Id`; a 5xx is retried with the same id, then `Ambiguous`. */
    const post = <A, I>(
      path: string,
      body: unknown,
      requestId: string,
      schema: Schema.Schema<A, I>,
      what: string
    ) =>
      authed(
        HttpClientRequest.post(`${base}${path}`).pipe(
          HttpClientRequest.setHeaders({ "paypal-request-id": requestId, prefer: "return=representation" }),
          HttpClientRequest.bodyUnsafeJson(body)
        )
      ).pipe(
        Effect.filterOrFail(
          (reply) => reply.status < 500,
          (reply) => classify(config.id, reply, { mutating: true })
        ),
        Effect.retry({
          schedule: Schedule.exponential("50 millis"),
          times: config.serverErrorRetries ?? 2,
          while: (e) => e._tag === "Ambiguous" && e.code.startsWith("server_error")
        }),
        Effect.flatMap((reply) => decodeOk(reply, schema, what, true))
      )

    const getOrder = (orderId: string) =>
      authed(HttpClientRequest.get(`${base}/v2/checkout/orders/${encodeURIComponent(orderId)}`)).pipe(
        Effect.flatMap((reply) => decodeOk(reply, Order, "an order", false))
      )

    const settle = ({ reply, value }: { readonly value: Order; readonly reply: Reply }) =>
      Option.match(declineOf(config.id, value, reply.status, requestIdOf(reply)), {
        onNone: () => Effect.succeed(toPayment(value, requestIdOf(reply))),
        onSome: Effect.fail
      })

    const authorize: Gateway.Gateway["authorize"] = (req) => {
      const intent = req.captureMethod === "automatic" ? "CAPTURE" : "AUTHORIZE"
      const body = {
        intent,
        purchase_units: [
          {
            reference_id: req.idempotencyKey,
            custom_id: req.idempotencyKey,
            ...(req.description !== undefined ? { description: req.description.slice(0, 127) } : {}),
            amount: moneyJson(req.amount)
          }
        ],
        payment_source: cardSource(req.paymentMethod)
      }
      return post("/v2/checkout/orders", body, req.idempotencyKey, Order, "an order").pipe(
        Effect.flatMap((created) =>
          created.value.status === "APPROVED"
            ? post(
                `/v2/checkout/orders/${encodeURIComponent(created.value.id)}/${intent === "CAPTURE" ? "capture" : "authorize"}`,
                {},
                `${req.idempotencyKey}:${intent === "CAPTURE" ? "capture" : "authorize"}`,
                Order,
                "an order"
              )
            : Effect.succeed(created)
        ),
        Effect.flatMap(settle),
        Effect.withSpan("PayPal.authorize", {
          attributes: { gateway: config.id, idempotencyKey: req.idempotencyKey }
        })
      )
    }

    const nothingTo = (what: string, order: Order, reply: Reply) =>
      new GatewayError.Misconfigured({
        ...commonOf(config.id, reply.status, requestIdOf(reply)),
        code: `nothing_to_${what}`,
        detail: `PayPal order ${order.id} (${order.status}) has nothing to ${what}`
      })

    const capture: Gateway.Gateway["capture"] = (req) =>
      getOrder(req.gatewayReference).pipe(
        Effect.flatMap(({ reply, value: order }) => {
          const auth = paymentsOf(order).authorizations[0]
          if (auth === undefined) {
            return toPayment(order, undefined).status === "captured"
              ? Effect.succeed(toPayment(order, requestIdOf(reply)))
              : Effect.fail(nothingTo("capture", order, reply))
          }
          return post(
            `/v2/payments/authorizations/${encodeURIComponent(auth.id)}/capture`,
            { amount: moneyJson(req.amount), final_capture: true },
            req.idempotencyKey,
            Capture,
            "a capture"
          ).pipe(
            Effect.flatMap(({ reply, value }) => {
              const requestId = requestIdOf(reply)
              if (value.status === "DECLINED" || value.status === "FAILED") {
                const common = commonOf(config.id, reply.status, requestId)
                const code = value.processor_response?.response_code
                return Effect.fail(
                  code !== undefined
                    ? classifyProcessorResponse(common, code)
                    : new GatewayError.SoftDecline({
                        ...common,
                        code: value.status.toLowerCase(),
                        detail: `PayPal reports the capture ${value.status}`
                      })
                )
              }
              return Effect.succeed(
                new Gateway.GatewayPayment({
                  gatewayReference: order.id,
                  status: value.status === "PENDING" ? "pending" : "captured",
                  amountAuthorized: auth.amount ?? req.amount.amount,
                  amountCaptured: value.amount ?? req.amount.amount,
                  amountRefunded: 0n,
                  ...requestIdField(requestId)
                })
              )
            })
          )
        }),
        Effect.withSpan("PayPal.capture", { attributes: { gateway: config.id } })
      )

    const voidPayment: Gateway.Gateway["void"] = (req) =>
      getOrder(req.gatewayReference).pipe(
        Effect.flatMap(({ reply, value: order }) => {
          const auth = paymentsOf(order).authorizations[0]
          if (auth === undefined) return Effect.fail(nothingTo("void", order, reply))
          return authed(
            HttpClientRequest.post(
              `${base}/v2/payments/authorizations/${encodeURIComponent(auth.id)}/void`
            ).pipe(
              HttpClientRequest.setHeaders({
                "paypal-request-id": req.idempotencyKey,
                prefer: "return=representation"
              })
            )
          ).pipe(
            Effect.flatMap((voided) =>
              voided.status === 204 ||
              (voided.status >= 200 && voided.status < 300 && Option.isNone(voided.body))
                ? Effect.succeed(voided)
                : Effect.map(decodeOk(voided, Authorization, "an authorization", true), (r) => r.reply)
            ),
            Effect.map((voided) => {
              const requestId = requestIdOf(voided)
              return new Gateway.GatewayPayment({
                gatewayReference: order.id,
                status: "voided",
                amountAuthorized: auth.amount ?? 0n,
                amountCaptured: 0n,
                amountRefunded: 0n,
                ...requestIdField(requestId)
              })
            })
          )
        }),
        Effect.withSpan("PayPal.void", { attributes: { gateway: config.id } })
      )

    const refund: Gateway.Gateway["refund"] = (req) =>
      getOrder(req.gatewayReference).pipe(
        Effect.flatMap(({ reply, value: order }) => {
          const captured = paymentsOf(order).captures.find(completedCapture)
          if (captured === undefined) return Effect.fail(nothingTo("refund", order, reply))
          return post(
            `/v2/payments/captures/${encodeURIComponent(captured.id)}/refund`,
            {
              amount: moneyJson(req.amount),
              ...(req.reason !== undefined ? { note_to_payer: req.reason.slice(0, 255) } : {})
            },
            req.idempotencyKey,
            Refund,
            "a refund"
          )
        }),
        Effect.flatMap(({ reply, value }) => {
          const requestId = requestIdOf(reply)
          if (value.status === "FAILED" || value.status === "CANCELLED") {
            return Effect.fail(
              new GatewayError.SoftDecline({
                ...commonOf(config.id, reply.status, requestId),
                code: `refund_${value.status.toLowerCase()}`,
                detail: `PayPal reports the refund ${value.status}`
              })
            )
          }
          return Effect.succeed(
            new Gateway.GatewayRefund({
              gatewayReference: value.id,
              amount: value.amount ?? req.amount.amount,
              status: value.status === "COMPLETED" ? "succeeded" : "pending",
              ...requestIdField(requestId)
            })
          )
        }),
        Effect.withSpan("PayPal.refund", { attributes: { gateway: config.id } })
      )

    const isProbe = (order: Order) =>
      paymentsOf(order).unit?.description === statusProbeDescription ||
      (order.payment_source === undefined && order.status === "CREATED")

    const status: Gateway.Gateway["status"] = (key) =>
      post(
        "/v2/checkout/orders",
        {
          intent: "CAPTURE",
          purchase_units: [
            {
              reference_id: key,
              custom_id: key,
              description: statusProbeDescription,
              amount: { currency_code: "USD", value: "0.01" }
            }
          ]
        },
        key,
        Order,
        "an order"
      ).pipe(
        Effect.flatMap(({ value }) =>
          isProbe(value)
            ? Effect.succeed<Gateway.AttemptLookup>({ _tag: "NotFound" })
            : getOrder(value.id).pipe(
                Effect.map(({ reply, value: order }): Gateway.AttemptLookup => {
                  const requestId = requestIdOf(reply)
                  return Option.match(declineOf(config.id, order, reply.status, requestId), {
                    onNone: () => ({ _tag: "Found", payment: toPayment(order, requestId) }),
                    onSome: (error) => ({ _tag: "Declined", error })
                  })
                })
              )
        ),
        Effect.catchIf(
          (e): e is GatewayError.HardDecline | GatewayError.SoftDecline =>
            e._tag === "HardDecline" || e._tag === "SoftDecline",
          (error) => Effect.succeed<Gateway.AttemptLookup>({ _tag: "Declined", error })
        ),
        Effect.withSpan("PayPal.status", { attributes: { gateway: config.id, idempotencyKey: key } })
      )

    const health: Gateway.Gateway["health"] = probe(
      Effect.map(
        authed(HttpClientRequest.get(`${base}/v2/checkout/orders/aegispay-health-probe`)),
        (reply) => reply.status < 500 && reply.status !== 401 && reply.status !== 403
      )
    )

    return {
      id: config.id,
      type: "paypal",
      fees: Option.fromNullable(config.fees),
      authorize,
      capture,
      void: voidPayment,
      refund,
      status,
      health
    } satisfies Gateway.Gateway
  })
