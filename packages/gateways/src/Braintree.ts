/**
 * The Braintree adapter: Braintree's GraphQL API (`POST {baseUrl}/graphql`, HTTP Basic with the
 * public and private keys, `Braintree-Version` header), mapped to the AegisPay taxonomy.
 *
 * **Payments.** Braintree's GraphQL API charges only tokenized payment methods, so card data is
 * first sent to `tokenizeCreditCard` (a single-use payment method; nothing is charged, so any
 * failure there short of a card validation error is `Retryable`), then `chargeCreditCard`
 * (automatic capture) or `authorizeCreditCard` (manual) runs with `transaction.orderId` = our
 * attempt key and the amount as the currency's decimal string. A `Token` payment method is used as
 * the `paymentMethodId` directly. The gateway reference is the transaction's GraphQL id.
 * `capture` is `captureTransaction`, `void` is `reverseTransaction` (Braintree voids an
 * unsettled transaction and refunds a settled one; the latter comes back as a captured payment with
 * the amount refunded), `refund` is `refundTransaction` with `refund.orderId` = the caller's
 * idempotency key.
 *
 * **No idempotency key.** Braintree has no idempotency header, so a mutation is never retried by
 * the adapter; a 5xx, a timeout or an `INTERNAL` error on a mutation is `Ambiguous`. `status(key)`
 * finds the attempt with `search.transactions(orderId: {is: key})`; `refund` first looks for a
 * refund whose `orderId` is its idempotency key and returns it instead of refunding twice.
 * Braintree's search index may lag a few seconds behind.
 *
 * **Currency.** The merchant account decides the currency: configure `merchantAccountId` as the
 * account for the currency the requests are in.
 *
 * **Errors.** GraphQL answers 200 with `errors: [{message, extensions: {errorClass, legacyCode}}]`,
 * or with a transaction whose status says it failed; `pspRequestId` is `extensions.requestId`. A
 * 2xx whose body is neither is `Ambiguous`.
 *
 * | answer | error |
 * |---|---|
 * | HTTP 429, `RESOURCE_LIMIT` | `Retryable` (`rate_limited`, with Retry-After) |
 * | HTTP 5xx, `INTERNAL`, timeout on a mutation | `Ambiguous` (the charge may exist) |
 * | the same on a query or on tokenization | `Retryable` |
 * | `SERVICE_AVAILABILITY` | `Retryable` (Braintree turned the request away before processing) |
 * | HTTP 401/403/426, `AUTHENTICATION`, `AUTHORIZATION`, `NOT_FOUND`, `UNSUPPORTED_CLIENT` | `Misconfigured` |
 * | `VALIDATION` of card data ({@link cardValidationCodes}) | `HardDecline` |
 * | any other `VALIDATION` (amount, merchant account, state) | `Misconfigured` |
 * | `PROCESSOR_DECLINED`, or an error with a 2000-class `legacyCode` | {@link processorResponses} |
 * | processor response 3000-class (processor network), status `FAILED` | `Retryable` |
 * | `GATEWAY_REJECTED` | {@link gatewayRejections} |
 *
 * Processor responses (Braintree's 2000-class codes). Insufficient funds is hard, as in the Stripe
 * adapter; a code not in either list is a soft decline unless Braintree's own `declineType` says
 * `HARD`:
 *
 * | kind | codes |
 * |---|---|
 * | hard | 2001 2004 2005 2006 2007 2008 2009 2010 2012 2013 2014 2015 2017 2018 2019 2020 2021 2022 2029 2032 2036 2037 2039 2043 2044 2047 2051 2053 2060 2064 2065 2066 |
 * | misconfigured | 2023 2024 2025 2026 2027 2028 2030 2040 2042 2045 2058 |
 * | soft | 2000 2002 2003 2011 2016 2031 2033 2034 2035 2038 2041 2046 2057 2059 2074, and the rest |
 * | retryable | 3000 and the 3000 class |
 *
 * Gateway rejections: `CVV`, `AVS_AND_CVV`, `FRAUD`, `PAYMENT_METHOD_BLOCKED` are hard; `AVS`,
 * `RISK_THRESHOLD`, `THREE_D_SECURE`, `EXCESSIVE_RETRY`, `TOO_MANY_CONFIRMATION_ATTEMPTS` are soft;
 * `DUPLICATE` is `Ambiguous` (an identical transaction exists, possibly our own lost attempt: only
 * a status lookup can tell); the rest (`APPLICATION_INCOMPLETE`, `TOKEN_ISSUANCE`, ...) are
 * `Misconfigured`.
 *
 * No message carries the keys or card data: header values are never read into errors and long
 * digit runs in Braintree's texts are masked.
 *
 * @since 0.1.0
 */
import type { Fee, Ids } from "@aegispay/core"
import { Gateway, GatewayError, Money } from "@aegispay/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { type Duration, Effect, Either, Encoding, Option, ParseResult, Redacted, Schema } from "effect"
import * as Q from "./internal/braintreeQueries.js"
import {
  type Common,
  commonOf,
  rateLimited,
  requestIdOf as requestIdField,
  scrub as scrubPans
} from "./internal/errorFields.js"
import { probe } from "./internal/health.js"
import { send, type Reply } from "./internal/call.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  readonly id: Ids.GatewayId
  /** e.g. Braintree's sandbox or production GraphQL origin, without the `/graphql` path. */
  readonly baseUrl: string
  readonly publicKey: Redacted.Redacted<string>
  readonly privateKey: Redacted.Redacted<string>
  /** The merchant account (and so the currency) to charge; Braintree's default when absent. */
  readonly merchantAccountId?: string | undefined
  readonly fees?: Fee.FeeSchedule | undefined
  /** Per call (default 10 s); a mutation that takes longer is `Ambiguous`. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The `Braintree-Version` header (default {@link defaultVersion}). */
  readonly version?: string | undefined
}

/**
 * The `Braintree-Version` this adapter was written against.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultVersion = "2019-01-01"

type Kind = "hard" | "soft" | "misconfigured"

/**
 * Braintree's processor response codes with a fixed classification; other 2000-class codes are
 * soft unless Braintree's `declineType` is `HARD`.
 *
 * @since 0.1.0
 * @category mapping
 */
export const processorResponses: ReadonlyMap<string, readonly [name: string, kind: Kind]> = new Map([
  ["2000", ["do_not_honor", "soft"]],
  ["2001", ["insufficient_funds", "hard"]],
  ["2002", ["limit_exceeded", "soft"]],
  ["2003", ["cardholder_activity_limit_exceeded", "soft"]],
  ["2004", ["expired_card", "hard"]],
  ["2005", ["invalid_credit_card_number", "hard"]],
  ["2006", ["invalid_expiration_date", "hard"]],
  ["2007", ["no_account", "hard"]],
  ["2008", ["card_account_length_error", "hard"]],
  ["2009", ["no_such_issuer", "hard"]],
  ["2010", ["card_issuer_declined_cvv", "hard"]],
  ["2011", ["voice_authorization_required", "soft"]],
  ["2012", ["possible_lost_card", "hard"]],
  ["2013", ["possible_stolen_card", "hard"]],
  ["2014", ["fraud_suspected", "hard"]],
  ["2015", ["transaction_not_allowed", "hard"]],
  ["2016", ["duplicate_transaction", "soft"]],
  ["2017", ["cardholder_stopped_billing", "hard"]],
  ["2018", ["cardholder_stopped_all_billing", "hard"]],
  ["2019", ["invalid_transaction", "hard"]],
  ["2020", ["violation", "hard"]],
  ["2021", ["security_violation", "hard"]],
  ["2022", ["updated_cardholder_available", "hard"]],
  ["2023", ["processor_does_not_support_feature", "misconfigured"]],
  ["2024", ["card_type_not_enabled", "misconfigured"]],
  ["2025", ["set_up_error_merchant", "misconfigured"]],
  ["2026", ["invalid_merchant_id", "misconfigured"]],
  ["2027", ["set_up_error_amount", "misconfigured"]],
  ["2028", ["set_up_error_hierarchy", "misconfigured"]],
  ["2029", ["set_up_error_card", "hard"]],
  ["2030", ["set_up_error_terminal", "misconfigured"]],
  ["2031", ["encryption_error", "soft"]],
  ["2032", ["surcharge_not_permitted", "hard"]],
  ["2033", ["inconsistent_data", "soft"]],
  ["2034", ["no_action_taken", "soft"]],
  ["2035", ["partial_approval", "soft"]],
  ["2036", ["authorization_not_found", "hard"]],
  ["2037", ["already_reversed", "hard"]],
  ["2038", ["processor_declined", "soft"]],
  ["2039", ["invalid_authorization_code", "hard"]],
  ["2040", ["invalid_store", "misconfigured"]],
  ["2041", ["declined_call_for_approval", "soft"]],
  ["2042", ["invalid_client_id", "misconfigured"]],
  ["2043", ["do_not_retry_call_issuer", "hard"]],
  ["2044", ["declined_call_issuer", "hard"]],
  ["2045", ["invalid_merchant_number", "misconfigured"]],
  ["2046", ["declined", "soft"]],
  ["2047", ["pick_up_card", "hard"]],
  ["2051", ["card_does_not_match_payment_method", "hard"]],
  ["2053", ["lost_or_stolen", "hard"]],
  ["2057", ["issuer_or_cardholder_restriction", "soft"]],
  ["2058", ["merchant_not_securecode_enabled", "misconfigured"]],
  ["2059", ["address_verification_failed", "soft"]],
  ["2060", ["address_and_cvv_verification_failed", "hard"]],
  ["2064", ["invalid_currency_code", "hard"]],
  ["2065", ["refund_time_limit_exceeded", "hard"]],
  ["2066", ["paypal_business_account_restricted", "hard"]],
  ["2074", ["funding_instrument_declined", "soft"]]
])

/**
 * Validation `legacyCode`s about the card data itself (number, expiry, CVV): a `HardDecline`.
 *
 * @since 0.1.0
 * @category mapping
 */
export const cardValidationCodes: ReadonlySet<string> = new Set([
  "81706",
  "81707",
  "81709",
  "81710",
  "81711",
  "81712",
  "81713",
  "81714",
  "81715",
  "81716",
  "81717",
  "81736"
])

/**
 * `gatewayRejectionReason` values and their classification.
 *
 * @since 0.1.0
 * @category mapping
 */
export const gatewayRejections: ReadonlyMap<string, Kind | "ambiguous"> = new Map([
  ["CVV", "hard"],
  ["AVS_AND_CVV", "hard"],
  ["FRAUD", "hard"],
  ["PAYMENT_METHOD_BLOCKED", "hard"],
  ["AVS", "soft"],
  ["RISK_THRESHOLD", "soft"],
  ["THREE_D_SECURE", "soft"],
  ["EXCESSIVE_RETRY", "soft"],
  ["TOO_MANY_CONFIRMATION_ATTEMPTS", "soft"],
  ["DUPLICATE", "ambiguous"],
  ["APPLICATION_INCOMPLETE", "misconfigured"],
  ["TOKEN_ISSUANCE", "misconfigured"],
  ["MANUAL_TRANSACTIONS_DISABLED", "misconfigured"],
  ["UNION_PAY_ENROLLMENT_REQUIRED", "misconfigured"]
])

const MinorAmount = Schema.transformOrFail(
  Schema.Struct({ value: Schema.String, currencyCode: Schema.String }),
  Schema.BigIntFromSelf,
  {
    strict: true,
    decode: (amount, _, ast) =>
      Either.match(Money.parse(amount.value, amount.currencyCode), {
        onLeft: (e) => ParseResult.fail(new ParseResult.Type(ast, amount, e.message)),
        onRight: (m) => ParseResult.succeed(m.amount)
      }),
    encode: (n, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, n, "amounts are only decoded"))
  }
)

const ProcessorResponse = Schema.Struct({
  legacyCode: Schema.optional(Schema.NullOr(Schema.String)),
  message: Schema.optional(Schema.NullOr(Schema.String))
})
type ProcessorResponse = typeof ProcessorResponse.Type

const RefundNode = Schema.Struct({
  id: Schema.String,
  orderId: Schema.optional(Schema.NullOr(Schema.String)),
  status: Schema.String,
  amount: Schema.optional(Schema.NullOr(MinorAmount))
})
type RefundNode = typeof RefundNode.Type

const Transaction = Schema.Struct({
  id: Schema.String,
  orderId: Schema.optional(Schema.NullOr(Schema.String)),
  status: Schema.String,
  amount: Schema.optional(Schema.NullOr(MinorAmount)),
  processorResponse: Schema.optional(Schema.NullOr(ProcessorResponse)),
  refunds: Schema.optional(Schema.NullOr(Schema.Array(RefundNode))),
  statusHistory: Schema.optional(
    Schema.NullOr(
      Schema.Array(
        Schema.Struct({
          declineType: Schema.optional(Schema.NullOr(Schema.String)),
          gatewayRejectionReason: Schema.optional(Schema.NullOr(Schema.String)),
          processorResponse: Schema.optional(Schema.NullOr(ProcessorResponse))
        })
      )
    )
  )
})
type Transaction = typeof Transaction.Type

const TransactionPayload = (field: string) =>
  Schema.Struct({ [field]: Schema.Struct({ transaction: Transaction }) })

const GraphQLError = Schema.Struct({
  message: Schema.optionalWith(Schema.String, { default: () => "" }),
  extensions: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        errorClass: Schema.optional(Schema.NullOr(Schema.String)),
        legacyCode: Schema.optional(Schema.NullOr(Schema.String))
      })
    )
  )
})
type GraphQLError = typeof GraphQLError.Type

const Envelope = Schema.Struct({
  data: Schema.optional(Schema.Unknown),
  errors: Schema.optional(Schema.NullOr(Schema.Array(GraphQLError))),
  extensions: Schema.optional(
    Schema.NullOr(Schema.Struct({ requestId: Schema.optional(Schema.NullOr(Schema.String)) }))
  )
})

const scrub = (text: string): string => scrubPans(text).slice(0, 500)

const requestIdOf = (reply: Reply): string | undefined =>
  Option.getOrUndefined(
    Option.flatMap(Option.flatMap(reply.body, Schema.decodeUnknownOption(Envelope)), (e) =>
      Option.fromNullable(e.extensions?.requestId)
    )
  ) ?? reply.requestId

/**
 * Maps a processor response code (and Braintree's `declineType`, when it gave one) to the taxonomy.
 *
 * @since 0.1.0
 * @category mapping
 */
export const classifyProcessorResponse = (
  common: Common,
  legacyCode: string,
  message?: string | null,
  declineType?: string | null
): GatewayError.GatewayError => {
  const n = Number(legacyCode)
  const text = scrub(message ?? "")
  if (n >= 3000 && n < 4000) {
    return new GatewayError.Retryable({
      ...common,
      code: n === 3000 ? "processor_network_unavailable" : `processor_${legacyCode}`,
      detail: `Braintree processor response ${legacyCode}${text ? `: ${text}` : ""}`
    })
  }
  const known = processorResponses.get(legacyCode)
  const [name, kind]: readonly [string, Kind] = known ?? [
    `processor_declined_${legacyCode}`,
    declineType === "HARD" ? "hard" : "soft"
  ]
  const detail = `Braintree processor response ${legacyCode}${text ? `: ${text}` : ""}`
  return kind === "hard"
    ? new GatewayError.HardDecline({ ...common, code: name, detail })
    : kind === "soft"
      ? new GatewayError.SoftDecline({ ...common, code: name, detail })
      : new GatewayError.Misconfigured({ ...common, code: name, detail })
}

/**
 * Maps GraphQL `errors` to the taxonomy. `mutating` is true for calls that may move money.
 *
 * @since 0.1.0
 * @category mapping
 */
export const classifyErrors = (
  common: Common,
  errors: ReadonlyArray<GraphQLError>,
  options: { readonly mutating: boolean }
): GatewayError.GatewayError => {
  const first = errors.find((e) => /^[23][0-9]{3}$/.test(e.extensions?.legacyCode ?? "")) ?? errors[0]
  const errorClass = first?.extensions?.errorClass ?? undefined
  const legacyCode = first?.extensions?.legacyCode ?? undefined
  const detail = scrub(first?.message || "Braintree answered with an error")
  if (legacyCode !== undefined && /^[23][0-9]{3}$/.test(legacyCode))
    return classifyProcessorResponse(common, legacyCode, first?.message)
  switch (errorClass) {
    case "AUTHENTICATION":
    case "AUTHORIZATION":
    case "NOT_FOUND":
    case "UNSUPPORTED_CLIENT":
      return new GatewayError.Misconfigured({ ...common, code: errorClass.toLowerCase(), detail })
    case "VALIDATION":
      return legacyCode !== undefined && cardValidationCodes.has(legacyCode)
        ? new GatewayError.HardDecline({ ...common, code: `invalid_card_${legacyCode}`, detail })
        : new GatewayError.Misconfigured({
            ...common,
            code: legacyCode !== undefined ? `validation_${legacyCode}` : "validation",
            detail
          })
    case "RESOURCE_LIMIT":
      return new GatewayError.Retryable({ ...common, code: "rate_limited", detail })
    case "SERVICE_AVAILABILITY":
      return new GatewayError.Retryable({ ...common, code: "service_unavailable", detail })
    case "INTERNAL":
      return options.mutating
        ? new GatewayError.Ambiguous({ ...common, code: "internal_error", detail })
        : new GatewayError.Retryable({ ...common, code: "internal_error", detail })
    default:
      return options.mutating
        ? new GatewayError.Ambiguous({ ...common, code: "unknown_error", detail })
        : new GatewayError.Misconfigured({ ...common, code: "unknown_error", detail })
  }
}

/**
 * Maps an HTTP answer that is not a 2xx to the taxonomy.
 *
 * @since 0.1.0
 * @category mapping
 */
export const classifyHttp = (
  gateway: Ids.GatewayId,
  reply: Reply,
  options: { readonly mutating: boolean }
): GatewayError.GatewayError => {
  const common = commonOf(gateway, reply.status, requestIdOf(reply))
  const envelope = Option.getOrUndefined(Option.flatMap(reply.body, Schema.decodeUnknownOption(Envelope)))
  const detail = scrub(envelope?.errors?.[0]?.message || `unexpected HTTP ${reply.status} from Braintree`)
  if (reply.status === 429) {
    return rateLimited(common, detail, reply.retryAfter)
  }
  if (reply.status >= 500) {
    const code = `server_error_${reply.status}`
    return options.mutating
      ? new GatewayError.Ambiguous({ ...common, code, detail })
      : new GatewayError.Retryable({ ...common, code, detail })
  }
  if (reply.status === 401 || reply.status === 403)
    return new GatewayError.Misconfigured({ ...common, code: "authentication_failed", detail })
  if (reply.status === 426)
    return new GatewayError.Misconfigured({ ...common, code: "unsupported_version", detail })
  if (envelope?.errors && envelope.errors.length > 0) return classifyErrors(common, envelope.errors, options)
  return new GatewayError.Misconfigured({ ...common, code: `http_${reply.status}`, detail })
}

const capturedStatuses = new Set([
  "SUBMITTED_FOR_SETTLEMENT",
  "SETTLING",
  "SETTLED",
  "SETTLEMENT_PENDING",
  "SETTLEMENT_CONFIRMED"
])
const refundedStatuses = new Set([...capturedStatuses])

/** The decline a transaction carries, if it failed. */
const declineOf = (common: Common, txn: Transaction): Option.Option<GatewayError.GatewayError> => {
  const history = txn.statusHistory ?? []
  const processor: ProcessorResponse | undefined =
    txn.processorResponse ??
    history.find((h) => h.processorResponse?.legacyCode)?.processorResponse ??
    undefined
  switch (txn.status) {
    case "PROCESSOR_DECLINED": {
      const declineType = history.find((h) => h.declineType)?.declineType
      return Option.some(
        processor?.legacyCode
          ? classifyProcessorResponse(common, processor.legacyCode, processor.message, declineType)
          : new GatewayError.SoftDecline({
              ...common,
              code: "processor_declined",
              detail: "Braintree reports the transaction PROCESSOR_DECLINED"
            })
      )
    }
    case "GATEWAY_REJECTED": {
      const reason = history.find((h) => h.gatewayRejectionReason)?.gatewayRejectionReason ?? "UNKNOWN"
      const code = `gateway_rejected_${reason.toLowerCase()}`
      const detail = `Braintree rejected the transaction (${reason})`
      const kind = gatewayRejections.get(reason) ?? "misconfigured"
      return Option.some(
        kind === "hard"
          ? new GatewayError.HardDecline({ ...common, code, detail })
          : kind === "soft"
            ? new GatewayError.SoftDecline({ ...common, code, detail })
            : kind === "ambiguous"
              ? new GatewayError.Ambiguous({
                  ...common,
                  code,
                  detail: `${detail}: an identical transaction exists, possibly this attempt's own`
                })
              : new GatewayError.Misconfigured({ ...common, code, detail })
      )
    }
    case "FAILED":
      return Option.some(
        processor?.legacyCode
          ? classifyProcessorResponse(common, processor.legacyCode, processor.message)
          : new GatewayError.Retryable({
              ...common,
              code: "processor_failed",
              detail: "Braintree could not send the transaction to the processor"
            })
      )
    case "SETTLEMENT_DECLINED":
      return Option.some(
        new GatewayError.SoftDecline({
          ...common,
          code: "settlement_declined",
          detail: "the processor declined the settlement"
        })
      )
    default:
      return Option.none()
  }
}

const toPayment = (txn: Transaction, requestId: string | undefined): Gateway.GatewayPayment => {
  const amount = txn.amount ?? 0n
  const refunded = (txn.refunds ?? [])
    .filter((r) => refundedStatuses.has(r.status))
    .reduce((a, r) => a + (r.amount ?? 0n), 0n)
  const status: Gateway.GatewayPayment["status"] =
    txn.status === "AUTHORIZED"
      ? "authorized"
      : capturedStatuses.has(txn.status)
        ? "captured"
        : txn.status === "VOIDED" || txn.status === "AUTHORIZATION_EXPIRED"
          ? "voided"
          : txn.status === "AUTHORIZING"
            ? "pending"
            : "failed"
  return new Gateway.GatewayPayment({
    gatewayReference: txn.id,
    status,
    amountAuthorized: status === "failed" || status === "pending" ? 0n : amount,
    amountCaptured: status === "captured" ? amount : 0n,
    amountRefunded: refunded,
    ...requestIdField(requestId)
  })
}

const toRefund = (refund: RefundNode, fallback: bigint, requestId: string | undefined) =>
  new Gateway.GatewayRefund({
    gatewayReference: refund.id,
    amount: refund.amount ?? fallback,
    status: refundedStatuses.has(refund.status) ? "succeeded" : "pending",
    ...requestIdField(requestId)
  })

const refundDecline = (common: Common, refund: RefundNode): Option.Option<GatewayError.GatewayError> =>
  refund.status === "PROCESSOR_DECLINED" ||
  refund.status === "GATEWAY_REJECTED" ||
  refund.status === "FAILED" ||
  refund.status === "SETTLEMENT_DECLINED"
    ? Option.some(
        new GatewayError.SoftDecline({
          ...common,
          code: `refund_${refund.status.toLowerCase()}`,
          detail: `Braintree reports the refund ${refund.status}`
        })
      )
    : Option.none()

/**
 * A Braintree gateway.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Gateway.Gateway, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const timeout = config.timeout ?? "10 seconds"
    const url = `${config.baseUrl.replace(/\/+$/, "")}/graphql`
    const version = config.version ?? defaultVersion

    /**
     * One GraphQL call, decoded: `data` through `schema`, or the taxonomy. `mutating` says whether
     * a lost or broken answer may hide a money movement.
     */
    const graphql = <A, I>(
      query: string,
      variables: unknown,
      schema: Schema.Schema<A, I>,
      options: { readonly mutating: boolean }
    ): Effect.Effect<
      { readonly data: A; readonly requestId: string | undefined },
      GatewayError.GatewayError
    > =>
      send(
        client,
        config.id,
        HttpClientRequest.post(url).pipe(
          HttpClientRequest.setHeaders({
            authorization: `Basic ${Encoding.encodeBase64(`${Redacted.value(config.publicKey)}:${Redacted.value(config.privateKey)}`)}`,
            "braintree-version": version,
            accept: "application/json"
          }),
          HttpClientRequest.bodyUnsafeJson({ query, variables })
        ),
        timeout,
        "x-request-id"
      ).pipe(
        Effect.flatMap((reply) => {
          const requestId = requestIdOf(reply)
          if (reply.status < 200 || reply.status >= 300)
            return Effect.fail(classifyHttp(config.id, reply, options))
          const common = commonOf(config.id, reply.status, requestId)
          const envelope = Option.flatMap(reply.body, Schema.decodeUnknownOption(Envelope))
          const data = Option.flatMap(envelope, (e) =>
            e.data === undefined || e.data === null
              ? Option.none()
              : Schema.decodeUnknownOption(schema)(e.data)
          )
          if (Option.isSome(data)) return Effect.succeed({ data: data.value, requestId })
          const errors = Option.match(envelope, { onNone: () => [], onSome: (e) => e.errors ?? [] })
          if (errors.length > 0) return Effect.fail(classifyErrors(common, errors, options))
          return Effect.fail(
            new GatewayError.Ambiguous({
              ...common,
              code: "unparseable_success",
              detail: `Braintree answered ${reply.status} with a body that is not the expected GraphQL result`
            })
          )
        })
      )

    const mutation = <A, I>(query: string, variables: unknown, schema: Schema.Schema<A, I>) =>
      graphql(query, variables, schema, { mutating: true })

    /** Single-use tokenization moves no money: an unsure outcome is simply retryable. */
    const tokenize = (card: Gateway.PaymentMethod & { readonly _tag: "Card" }) =>
      graphql(
        Q.tokenizeCreditCard,
        {
          input: {
            creditCard: {
              number: Redacted.value(card.card.number),
              expirationMonth: String(card.card.expMonth).padStart(2, "0"),
              expirationYear: String(card.card.expYear),
              ...(card.card.cvc !== undefined ? { cvv: Redacted.value(card.card.cvc) } : {}),
              ...(card.card.holderName !== undefined ? { cardholderName: card.card.holderName } : {})
            }
          }
        },
        Schema.Struct({
          tokenizeCreditCard: Schema.Struct({ paymentMethod: Schema.Struct({ id: Schema.String }) })
        }),
        { mutating: false }
      ).pipe(
        Effect.map(({ data }) => data.tokenizeCreditCard.paymentMethod.id),
        Effect.catchTag("Ambiguous", (e) =>
          Effect.fail(
            new GatewayError.Retryable({
              ...commonOf(config.id, e.httpStatus, e.pspRequestId),
              code: `tokenize_${e.code}`,
              detail: e.detail
            })
          )
        )
      )

    const settleTransaction = ({
      data,
      requestId
    }: {
      readonly data: Transaction
      readonly requestId: string | undefined
    }) =>
      Option.match(declineOf(commonOf(config.id, 200, requestId), data), {
        onNone: () => Effect.succeed(toPayment(data, requestId)),
        onSome: Effect.fail
      })

    const authorize: Gateway.Gateway["authorize"] = (req) => {
      const field = req.captureMethod === "automatic" ? "chargeCreditCard" : "authorizeCreditCard"
      const method = req.paymentMethod
      const paymentMethodId =
        method._tag === "Token" ? Effect.succeed(Redacted.value(method.token)) : tokenize(method)
      return paymentMethodId.pipe(
        Effect.flatMap((id) =>
          mutation(
            field === "chargeCreditCard" ? Q.chargeCreditCard : Q.authorizeCreditCard,
            {
              input: {
                paymentMethodId: id,
                transaction: {
                  amount: Money.format(req.amount),
                  orderId: req.idempotencyKey,
                  ...(config.merchantAccountId !== undefined
                    ? { merchantAccountId: config.merchantAccountId }
                    : {})
                }
              }
            },
            TransactionPayload(field)
          )
        ),
        Effect.flatMap(({ data, requestId }) =>
          settleTransaction({
            data: (data[field] as { readonly transaction: Transaction }).transaction,
            requestId
          })
        ),
        Effect.withSpan("Braintree.authorize", {
          attributes: { gateway: config.id, idempotencyKey: req.idempotencyKey }
        })
      )
    }

    const capture: Gateway.Gateway["capture"] = (req) =>
      mutation(
        Q.captureTransaction,
        { input: { transactionId: req.gatewayReference, amount: Money.format(req.amount) } },
        TransactionPayload("captureTransaction")
      ).pipe(
        Effect.flatMap(({ data, requestId }) =>
          settleTransaction({
            data: (data["captureTransaction"] as { readonly transaction: Transaction }).transaction,
            requestId
          })
        ),
        Effect.withSpan("Braintree.capture", { attributes: { gateway: config.id } })
      )

    const Reversal = Schema.Struct({
      reverseTransaction: Schema.Struct({
        reversal: Schema.Union(
          Schema.Struct({ __typename: Schema.Literal("Transaction"), ...Transaction.fields }),
          Schema.Struct({ __typename: Schema.Literal("Refund"), ...RefundNode.fields })
        )
      })
    })

    const voidPayment: Gateway.Gateway["void"] = (req) =>
      mutation(Q.reverseTransaction, { input: { transactionId: req.gatewayReference } }, Reversal).pipe(
        Effect.flatMap(({ data, requestId }) => {
          const reversal = data.reverseTransaction.reversal
          if (reversal.__typename === "Transaction") return settleTransaction({ data: reversal, requestId })
          const common = commonOf(config.id, 200, requestId)
          return Option.match(refundDecline(common, reversal), {
            onSome: Effect.fail,
            onNone: () => {
              const amount = reversal.amount ?? 0n
              return Effect.succeed(
                new Gateway.GatewayPayment({
                  gatewayReference: req.gatewayReference,
                  status: "captured",
                  amountAuthorized: amount,
                  amountCaptured: amount,
                  amountRefunded: amount,
                  ...requestIdField(requestId)
                })
              )
            }
          })
        }),
        Effect.withSpan("Braintree.void", { attributes: { gateway: config.id } })
      )

    const RefundSearch = Schema.Struct({
      search: Schema.Struct({
        refunds: Schema.Struct({
          edges: Schema.Array(Schema.Struct({ node: RefundNode }))
        })
      })
    })
    const RefundPayload = Schema.Struct({ refundTransaction: Schema.Struct({ refund: RefundNode }) })

    const refund: Gateway.Gateway["refund"] = (req) =>
      graphql(Q.searchRefunds, { input: { orderId: { is: req.idempotencyKey } } }, RefundSearch, {
        mutating: false
      }).pipe(
        Effect.flatMap(({ data, requestId }) => {
          const existing = data.search.refunds.edges
            .map((e) => e.node)
            .find((n) => refundDecline(commonOf(config.id, 200, requestId), n)._tag === "None")
          if (existing !== undefined) return Effect.succeed({ refund: existing, requestId })
          return mutation(
            Q.refundTransaction,
            {
              input: {
                transactionId: req.gatewayReference,
                refund: {
                  amount: Money.format(req.amount),
                  orderId: req.idempotencyKey,
                  ...(req.reason !== undefined ? { reason: req.reason.slice(0, 255) } : {})
                }
              }
            },
            RefundPayload
          ).pipe(Effect.map(({ data, requestId }) => ({ refund: data.refundTransaction.refund, requestId })))
        }),
        Effect.flatMap(({ refund, requestId }) =>
          Option.match(refundDecline(commonOf(config.id, 200, requestId), refund), {
            onSome: Effect.fail,
            onNone: () => Effect.succeed(toRefund(refund, req.amount.amount, requestId))
          })
        ),
        Effect.withSpan("Braintree.refund", { attributes: { gateway: config.id } })
      )

    const TransactionSearch = Schema.Struct({
      search: Schema.Struct({
        transactions: Schema.Struct({
          edges: Schema.Array(Schema.Struct({ node: Transaction }))
        })
      })
    })

    const status: Gateway.Gateway["status"] = (key) =>
      graphql(Q.searchTransactions, { input: { orderId: { is: key } } }, TransactionSearch, {
        mutating: false
      }).pipe(
        Effect.map(({ data, requestId }): Gateway.AttemptLookup => {
          const found = data.search.transactions.edges
            .map((e) => e.node)
            .filter((t) => t.orderId === key || t.orderId == null)
          const common = commonOf(config.id, 200, requestId)
          // a retried attempt may have left a decline and a success: the success is what counts
          const success = found.find((t) => Option.isNone(declineOf(common, t)))
          if (success !== undefined) return { _tag: "Found", payment: toPayment(success, requestId) }
          const declined = found[0]
          if (declined === undefined) return { _tag: "NotFound" }
          return Option.match(declineOf(common, declined), {
            onNone: () => ({ _tag: "Found", payment: toPayment(declined, requestId) }),
            // a duplicate of another order's transaction: for this attempt key, a plain refusal
            onSome: (error) => ({
              _tag: "Declined",
              error:
                error._tag === "Ambiguous"
                  ? new GatewayError.SoftDecline({ ...common, code: error.code, detail: error.detail })
                  : error
            })
          })
        }),
        Effect.withSpan("Braintree.status", { attributes: { gateway: config.id, idempotencyKey: key } })
      )

    const health: Gateway.Gateway["health"] = probe(
      Effect.as(
        graphql(Q.ping, {}, Schema.Struct({ ping: Schema.String }), {
          mutating: false
        }),
        true
      )
    )

    return {
      id: config.id,
      type: "braintree",
      fees: Option.fromNullable(config.fees),
      authorize,
      capture,
      void: voidPayment,
      refund,
      status,
      health
    } satisfies Gateway.Gateway
  })
