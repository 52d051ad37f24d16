/**
 * The one error taxonomy every gateway adapter maps its PSP's answers to. The orchestrator's
 * failover rules are decided on it alone:
 *
 * | error | charged? | what the orchestrator does |
 * |---|---|---|
 * | `HardDecline` | no | fail the payment, never retry |
 * | `SoftDecline` | no | try the next candidate gateway |
 * | `Retryable` | no (known) | retry the same attempt (same key), then the next candidate |
 * | `Ambiguous` | maybe | never fail over: mark the attempt unknown, reconcile |
 * | `Misconfigured` | no | try the next candidate, alert |
 *
 * Messages never contain secrets or card data; `pspRequestId` carries the PSP's request id.
 *
 * @since 0.1.0
 */
import { Duration, Schema } from "effect"
import { GatewayId } from "./Ids.js"

const common = {
  gateway: GatewayId,
  code: Schema.String,
  detail: Schema.String,
  pspRequestId: Schema.optional(Schema.String),
  httpStatus: Schema.optional(Schema.Int)
}

/**
 * @since 0.1.0
 * @category errors
 */
export class HardDecline extends Schema.TaggedError<HardDecline>("@aegispay/core/HardDecline")(
  "HardDecline",
  common
) {
  override get message(): string {
    return `${this.gateway}: declined (${this.code}): ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class SoftDecline extends Schema.TaggedError<SoftDecline>("@aegispay/core/SoftDecline")(
  "SoftDecline",
  common
) {
  override get message(): string {
    return `${this.gateway}: soft decline (${this.code}): ${this.detail}`
  }
}

/**
 * Known not to have been processed; may be retried with the same idempotency key.
 *
 * @since 0.1.0
 * @category errors
 */
export class Retryable extends Schema.TaggedError<Retryable>("@aegispay/core/Retryable")("Retryable", {
  ...common,
  retryAfter: Schema.optional(Schema.DurationFromMillis)
}) {
  override get message(): string {
    const after = this.retryAfter ? ` (retry after ${Duration.format(this.retryAfter)})` : ""
    return `${this.gateway}: temporarily unavailable (${this.code}): ${this.detail}${after}`
  }
}

/**
 * The request may have been processed: only a status lookup can tell.
 *
 * @since 0.1.0
 * @category errors
 */
export class Ambiguous extends Schema.TaggedError<Ambiguous>("@aegispay/core/Ambiguous")(
  "Ambiguous",
  common
) {
  override get message(): string {
    return `${this.gateway}: outcome unknown (${this.code}): ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class Misconfigured extends Schema.TaggedError<Misconfigured>("@aegispay/core/Misconfigured")(
  "Misconfigured",
  common
) {
  override get message(): string {
    return `${this.gateway}: misconfigured (${this.code}): ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export const GatewayError = Schema.Union(HardDecline, SoftDecline, Retryable, Ambiguous, Misconfigured)

/**
 * @since 0.1.0
 * @category errors
 */
export type GatewayError = typeof GatewayError.Type

/**
 * @since 0.1.0
 * @category predicates
 */
export const isDefinite = (e: GatewayError): boolean => e._tag !== "Ambiguous"

/**
 * Whether another gateway may be tried after this error.
 *
 * @since 0.1.0
 * @category predicates
 */
export const allowsFailover = (e: GatewayError): boolean =>
  e._tag === "SoftDecline" || e._tag === "Retryable" || e._tag === "Misconfigured"

/**
 * Whether the same attempt may be retried (same idempotency key) on the same gateway.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (e: GatewayError): boolean => e._tag === "Retryable"
