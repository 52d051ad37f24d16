/**
 * The gateway registry from configuration: a list of PSP accounts, each with its own id, type,
 * credentials, base URL, fee schedule and timeout. Several accounts of one PSP type are allowed
 * (two Stripe accounts in two regions, say); ids must be unique. This is the shape of
 * `AEGISPAY_GATEWAYS` (DESIGN.md section 7): `id`, `type` and `baseUrl` are required, `fees` are
 * optional (no fee schedule means the cost strategy cannot rank that gateway, not that it is free),
 * and each type has its own credentials:
 *
 * | type | credentials |
 * |---|---|
 * | `stripe` | `apiKey` |
 * | `adyen` | `apiKey`, `merchantAccount` |
 * | `razorpay` | `keyId`, `keySecret` |
 * | `paypal` | `clientId`, `clientSecret` |
 * | `braintree` | `publicKey`, `privateKey`, `merchantAccountId?` |
 *
 * Credentials are decoded into `Redacted` values, so they never print.
 *
 * @since 0.1.0
 */
import { Fee, Gateway, Ids } from "@aegispay/core"
import type { HttpClient } from "@effect/platform"
import { Data, Effect, Either, Layer, ParseResult, Schema } from "effect"
import * as Adyen from "./Adyen.js"
import * as Braintree from "./Braintree.js"
import * as PayPal from "./PayPal.js"
import * as Razorpay from "./Razorpay.js"
import * as Stripe from "./Stripe.js"

const Secret = Schema.Redacted(Schema.NonEmptyString)

const common = {
  id: Ids.GatewayId,
  baseUrl: Schema.String.pipe(
    Schema.pattern(/^https?:\/\/\S+$/, { message: () => "baseUrl must be an http(s) URL" })
  ),
  fees: Schema.optional(
    Schema.Struct({
      bps: Schema.Int.pipe(Schema.between(0, 10_000)),
      fixed: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 })
    })
  ),
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.positive()))
}

/**
 * One PSP account.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Account = Schema.Union(
  Schema.Struct({ type: Schema.Literal("stripe"), ...common, apiKey: Secret }),
  Schema.Struct({
    type: Schema.Literal("adyen"),
    ...common,
    apiKey: Secret,
    merchantAccount: Schema.NonEmptyString
  }),
  Schema.Struct({
    type: Schema.Literal("razorpay"),
    ...common,
    keyId: Schema.NonEmptyString,
    keySecret: Secret
  }),
  Schema.Struct({ type: Schema.Literal("paypal"), ...common, clientId: Secret, clientSecret: Secret }),
  Schema.Struct({
    type: Schema.Literal("braintree"),
    ...common,
    publicKey: Secret,
    privateKey: Secret,
    merchantAccountId: Schema.optional(Schema.NonEmptyString)
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Account = typeof Account.Type

/**
 * A list of accounts with unique ids.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Accounts = Schema.Array(Account).pipe(
  Schema.filter((accounts) => {
    const seen = new Set<string>()
    for (const a of accounts) {
      if (seen.has(a.id)) return `gateway id "${a.id}" is used twice`
      seen.add(a.id)
    }
    return true
  })
)

/**
 * The supported PSP types.
 *
 * @since 0.1.0
 * @category models
 */
export const types: ReadonlyArray<Account["type"]> = ["stripe", "adyen", "razorpay", "paypal", "braintree"]

/**
 * The adapter for one account.
 *
 * @since 0.1.0
 * @category constructors
 */
export const gateway = (account: Account): Effect.Effect<Gateway.Gateway, never, HttpClient.HttpClient> => {
  const shared = {
    id: account.id,
    baseUrl: account.baseUrl,
    fees: account.fees
      ? new Fee.FeeSchedule({ bps: account.fees.bps, fixed: BigInt(account.fees.fixed) })
      : undefined,
    timeout: `${account.timeoutMs ?? 10_000} millis` as const
  }
  switch (account.type) {
    case "stripe":
      return Stripe.make({ ...shared, apiKey: account.apiKey })
    case "adyen":
      return Adyen.make({ ...shared, apiKey: account.apiKey, merchantAccount: account.merchantAccount })
    case "razorpay":
      return Razorpay.make({ ...shared, keyId: account.keyId, keySecret: account.keySecret })
    case "paypal":
      return PayPal.make({ ...shared, clientId: account.clientId, clientSecret: account.clientSecret })
    case "braintree":
      return Braintree.make({
        ...shared,
        publicKey: account.publicKey,
        privateKey: account.privateKey,
        merchantAccountId: account.merchantAccountId
      })
  }
}

/**
 * The registry of the given accounts' adapters.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  accounts: ReadonlyArray<Account>
): Effect.Effect<Gateway.GatewayRegistry["Type"], never, HttpClient.HttpClient> =>
  Effect.map(Effect.forEach(accounts, gateway), Gateway.registryFrom)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  accounts: ReadonlyArray<Account>
): Layer.Layer<Gateway.GatewayRegistry, never, HttpClient.HttpClient> =>
  Layer.effect(Gateway.GatewayRegistry, make(accounts))

/**
 * Configuration that does not decode: one line per problem, each with its path
 * (`[0].merchantAccount: is missing`); never a credential.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAccounts extends Data.TaggedError("InvalidAccounts")<{
  readonly issues: ReadonlyArray<string>
}> {
  override get message(): string {
    return this.issues.join("; ")
  }
}

const decode = Schema.decodeUnknownEither(Schema.parseJson(Accounts))

const pathOf = (path: ReadonlyArray<PropertyKey>): string =>
  path
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
    .join("")
    .replace(/^\./, "")

/**
 * Decodes `AEGISPAY_GATEWAYS`-style JSON into accounts.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeJson = (raw: string): Either.Either<ReadonlyArray<Account>, InvalidAccounts> =>
  Either.mapLeft(
    decode(raw),
    (error) =>
      new InvalidAccounts({
        issues: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
          const at = pathOf(issue.path)
          // a union of every account type reports its whole shape; the tag is what matters
          const message = issue.message.startsWith("Expected {") ? "not a known account shape" : issue.message
          return at === "" ? message : `${at}: ${message}`
        })
      })
  )
