/**
 * The IdempotencyStore port, with Stripe's semantics: a key is scoped to a merchant and kept 24 h;
 * the same key with the same request replays the first response byte for byte; with another
 * request it is a mismatch; while the first request is in flight it answers `InFlight`; a claim left
 * by a crashed process is released after a lease.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Schema } from "effect"
import { IdempotencyKey, MerchantId } from "./Ids.js"
import type { PersistenceError } from "./PersistenceError.js"

/**
 * The response to replay: status, headers that matter and the exact body.
 *
 * @since 0.1.0
 * @category models
 */
export class StoredResponse extends Schema.Class<StoredResponse>("StoredResponse")({
  status: Schema.Int,
  body: Schema.String,
  headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), {
    default: () => ({})
  })
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export type ClaimResult =
  | { readonly _tag: "New" }
  | { readonly _tag: "InFlight"; readonly lockedAt: Date }
  | { readonly _tag: "Completed"; readonly response: StoredResponse }
  | { readonly _tag: "Mismatch" }

/**
 * @since 0.1.0
 * @category models
 */
export interface Claim {
  readonly merchantId: MerchantId
  readonly key: IdempotencyKey
  /** A hash of the canonical request (method, path, body). */
  readonly requestHash: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How long a completed key is kept (default 24 hours). */
  readonly ttl: Duration.Duration
  /** How long an in-flight claim holds before another request may take it over (default 30 s). */
  readonly lease: Duration.Duration
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults: Options = { ttl: Duration.hours(24), lease: Duration.seconds(30) }

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly claim: (claim: Claim) => Effect.Effect<ClaimResult, PersistenceError>
  readonly complete: (claim: Claim, response: StoredResponse) => Effect.Effect<void, PersistenceError>
  /** Gives the key back (the request failed before any side effect), so a retry starts afresh. */
  readonly release: (claim: Claim) => Effect.Effect<void, PersistenceError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class IdempotencyStore extends Context.Tag("@aegispay/core/IdempotencyStore")<
  IdempotencyStore,
  Service
>() {}
