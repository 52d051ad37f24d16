import { Encoding } from "effect"

/**
 * Razorpay's payment failure `reason`s (in `error.reason` of an error body, or `error_reason` of a
 * failed payment), sorted into hard and soft declines.
 *
 * Hard: the card or account itself stops the payment whatever the route (expired, invalid number or
 * CVV, blocked/lost/stolen, insufficient funds, not enabled for this kind of payment, flagged by risk
 * checks). Soft: the bank, network or gateway failed, the customer did not complete authentication,
 * or the decline is generic; another gateway may succeed. Unknown reasons on a payment step are soft.
 */

/** Reasons that no retry and no other PSP can fix. */
export const hardReasons: ReadonlySet<string> = new Set([
  "insufficient_funds",
  "insufficient_balance",
  "card_expired",
  "expired_card",
  "invalid_card_number",
  "incorrect_card_number",
  "card_number_invalid",
  "invalid_card_details",
  "incorrect_card_details",
  "invalid_expiry_date",
  "card_expiry_invalid",
  "incorrect_cvv",
  "invalid_cvv",
  "card_blocked",
  "card_lost",
  "card_stolen",
  "lost_or_stolen_card",
  "card_restricted",
  "card_not_supported",
  "card_not_enabled_for_online_payments",
  "international_transaction_not_allowed",
  "transaction_not_permitted",
  "payment_risk_check_failed",
  "suspected_fraud",
  "card_declined_fraud"
])

/** Reasons known to be worth another try elsewhere. */
export const softReasons: ReadonlySet<string> = new Set([
  "payment_failed",
  "payment_declined",
  "card_declined",
  "transaction_declined",
  "bank_technical_error",
  "gateway_technical_error",
  "server_error",
  "issuer_unavailable",
  "payment_timed_out",
  "payment_cancelled",
  "authentication_failed",
  "invalid_otp",
  "incorrect_otp",
  "otp_attempts_exceeded",
  "authentication_not_completed",
  "payment_pending"
])

/** Whether a reason is a value Razorpay uses for "no reason" (`"NA"`, empty). */
export const isMeaningful = (reason: string | null | undefined): reason is string =>
  reason !== null && reason !== undefined && reason.length > 0 && reason.toUpperCase() !== "NA"

/** Masks anything that looks like a card number (12 to 19 digits) in a PSP's text. */
export { scrub } from "./errorFields.js"

/**
 * Razorpay's refund idempotency key allows letters, digits, `-` and `_` (at least 10): a key that
 * does not fit is hex-encoded, which keeps distinct keys distinct.
 */
export const refundIdempotencyKey = (key: string): string =>
  /^[A-Za-z0-9_-]{10,}$/.test(key) ? key : `k-${Encoding.encodeHex(key)}`
