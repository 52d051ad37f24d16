/**
 * Errors of the orchestrator's API, beside the domain's (`InvalidTransition`, `InvalidAmount`) and
 * the stores' (`PersistenceError`). Each maps to one HTTP status.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * No such payment for this merchant (HTTP 404). Another merchant's payment is also "not found".
 *
 * @since 0.1.0
 * @category errors
 */
export class PaymentNotFound extends Schema.TaggedError<PaymentNotFound>("aegispay/PaymentNotFound")(
  "PaymentNotFound",
  { paymentId: Schema.String }
) {
  override get message(): string {
    return `no payment ${this.paymentId.slice(0, 64)}`
  }
}

/**
 * The idempotency key's first request is still in flight (HTTP 409).
 *
 * @since 0.1.0
 * @category errors
 */
export class IdempotencyKeyInUse extends Schema.TaggedError<IdempotencyKeyInUse>(
  "aegispay/IdempotencyKeyInUse"
)("IdempotencyKeyInUse", { key: Schema.String }) {
  override get message(): string {
    return `a request with this Idempotency-Key is still being processed; retry later`
  }
}

/**
 * The idempotency key was used with another request (HTTP 422).
 *
 * @since 0.1.0
 * @category errors
 */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>(
  "aegispay/IdempotencyKeyReused"
)("IdempotencyKeyReused", { key: Schema.String }) {
  override get message(): string {
    return `this Idempotency-Key was already used with a different request`
  }
}

/**
 * No gateway could take the payment: none registered, all eliminated, or the pinned one unknown
 * (the payment itself is recorded as failed with category `unavailable`).
 *
 * @since 0.1.0
 * @category errors
 */
export class NoGatewayAvailable extends Schema.TaggedError<NoGatewayAvailable>("aegispay/NoGatewayAvailable")(
  "NoGatewayAvailable",
  { reason: Schema.String }
) {
  override get message(): string {
    return `no gateway available: ${this.reason}`
  }
}

/**
 * A capture, void or refund call to the PSP did not reach a definite answer; it is safe to retry
 * the same request (the PSP receives the same idempotency key). HTTP 503.
 *
 * @since 0.1.0
 * @category errors
 */
export class GatewayUnavailable extends Schema.TaggedError<GatewayUnavailable>("aegispay/GatewayUnavailable")(
  "GatewayUnavailable",
  { gateway: Schema.String, operation: Schema.String, detail: Schema.String }
) {
  override get message(): string {
    return `${this.gateway} did not answer the ${this.operation} definitely (${this.detail}); retry the request`
  }
}

/**
 * The PSP refused a capture, void or refund (HTTP 402 for declines, 409 otherwise).
 *
 * @since 0.1.0
 * @category errors
 */
export class GatewayRejected extends Schema.TaggedError<GatewayRejected>("aegispay/GatewayRejected")(
  "GatewayRejected",
  { gateway: Schema.String, operation: Schema.String, code: Schema.String, detail: Schema.String }
) {
  override get message(): string {
    return `${this.gateway} refused the ${this.operation}: ${this.code}: ${this.detail}`
  }
}
