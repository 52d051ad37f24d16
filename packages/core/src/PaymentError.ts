/**
 * The errors `Payment.decide` may return. They cross the wire (HTTP), so they are Schema errors.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { CurrencyMismatch } from "./Money.js"
import { MinorUnits } from "./Money.js"

/**
 * The command is not valid in the payment's current status (HTTP 409).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>(
  "@aegispay/core/InvalidTransition"
)("InvalidTransition", {
  paymentId: Schema.optional(Schema.String),
  from: Schema.String,
  command: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot ${this.command} a payment in status "${this.from}": ${this.reason}`
  }
}

/**
 * The amount is not acceptable for this command (HTTP 422): not positive, or over what may be
 * captured or refunded.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAmount extends Schema.TaggedError<InvalidAmount>("@aegispay/core/InvalidAmount")(
  "InvalidAmount",
  {
    paymentId: Schema.optional(Schema.String),
    requested: MinorUnits,
    limit: MinorUnits,
    reason: Schema.Literal("NotPositive", "ExceedsAuthorized", "ExceedsRefundable", "NothingToRefund")
  }
) {
  override get message(): string {
    switch (this.reason) {
      case "NotPositive":
        return `the amount must be positive, got ${this.requested}`
      case "ExceedsAuthorized":
        return `cannot capture ${this.requested}: only ${this.limit} was authorized`
      case "ExceedsRefundable":
        return `cannot refund ${this.requested}: only ${this.limit} is still refundable`
      case "NothingToRefund":
        return `nothing is left to refund on this payment`
    }
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type DomainError = InvalidTransition | InvalidAmount | CurrencyMismatch

export {
  /**
   * @since 0.1.0
   * @category errors
   */
  CurrencyMismatch
}
