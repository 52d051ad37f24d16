/**
 * Adyen's refusal reasons (`refusalReasonCode` / `refusalReason` of a `Refused` payment) and the
 * card-data validation errors of a 422, each marked hard or soft.
 *
 * Hard means that neither a retry now nor another PSP can change the issuer's answer: the card is
 * expired, blocked, stolen, flagged as fraud, the number/CVC/PIN is wrong, the account cannot cover
 * the amount (`Not enough balance`, withdrawal limits), or Adyen itself asks us to stop retrying
 * (code 46). Soft covers generic refusals (`Refused`, `Declined Non Generic`, `Referral`), errors on
 * the acquirer's or issuer's side (`Acquirer Error`, `Issuer Unavailable`, `Not Submitted`) and
 * authentication or card-present flow problems another route may not have. Unknown codes are soft.
 */

/** `[refusalReasonCode, refusalReason, hard]` as Adyen documents them. */
const table: ReadonlyArray<readonly [string, string, boolean]> = [
  ["2", "Refused", false],
  ["3", "Referral", false],
  ["4", "Acquirer Error", false],
  ["5", "Blocked Card", true],
  ["6", "Expired Card", true],
  ["7", "Invalid Amount", true],
  ["8", "Invalid Card Number", true],
  ["9", "Issuer Unavailable", false],
  ["10", "Not supported", true],
  ["11", "3D Not Authenticated", false],
  ["12", "Not enough balance", true],
  ["14", "Acquirer Fraud", true],
  ["15", "Cancelled", false],
  ["16", "Shopper Cancelled", true],
  ["17", "Invalid Pin", true],
  ["18", "Pin tries exceeded", true],
  ["19", "Pin validation not possible", false],
  ["20", "FRAUD", true],
  ["21", "Not Submitted", false],
  ["22", "FRAUD-CANCELLED", true],
  ["23", "Transaction Not Permitted", true],
  ["24", "CVC Declined", true],
  ["25", "Restricted Card", true],
  ["26", "Revocation Of Auth", true],
  ["27", "Declined Non Generic", false],
  ["28", "Withdrawal amount exceeded", true],
  ["29", "Withdrawal count exceeded", true],
  ["31", "Issuer Suspected Fraud", true],
  ["32", "AVS Declined", true],
  ["33", "Card requires online pin", false],
  ["34", "No checking account available on Card", true],
  ["35", "No savings account available on Card", true],
  ["36", "Mobile pin required", false],
  ["37", "Contactless fallback", false],
  ["38", "Authentication required", false],
  ["39", "RReq not received from DS", false],
  ["40", "Current AID is in Penalty Box", false],
  ["41", "CVM Required Restart Payment", false],
  ["42", "3DS Authentication Error", false],
  ["43", "Online PIN required", false],
  ["44", "Try another interface", false],
  ["45", "Chip downgrade mode", false],
  ["46", "Transaction blocked by Adyen to prevent excessive retry fees", true]
]

/** `"Not enough balance"` → `"not_enough_balance"`. */
export const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 64)

interface Refusal {
  readonly code: string
  readonly hard: boolean
}

const byCode = new Map<string, Refusal>(table.map(([n, reason, hard]) => [n, { code: slug(reason), hard }]))
const byReason = new Map<string, Refusal>(
  table.map(([, reason, hard]) => [reason.toLowerCase(), { code: slug(reason), hard }])
)

/** The normalised codes (slugs of Adyen's reason texts) of the hard refusals. */
export const hardRefusalCodes: ReadonlySet<string> = new Set(
  table.filter(([, , hard]) => hard).map(([, reason]) => slug(reason))
)

/** Looks a refusal up by its numeric code first, then by its text; unknown ones are soft. */
export const refusal = (reasonCode: string | undefined, reason: string | undefined): Refusal =>
  (reasonCode !== undefined ? byCode.get(reasonCode) : undefined) ??
  (reason !== undefined ? byReason.get(reason.trim().toLowerCase()) : undefined) ?? {
    code: reason !== undefined && slug(reason).length > 0 ? slug(reason) : "refused",
    hard: false
  }

/** 422 validation `errorCode`s about the card data itself: no PSP will accept that card as sent. */
export const hardValidationErrors: ReadonlyMap<string, string> = new Map([
  ["101", "invalid_card_number"],
  ["102", "unknown_card_variant"],
  ["103", "invalid_cvc_length"],
  ["129", "invalid_expiry_date"]
])

/** Masks anything that looks like a card number (12 to 19 digits) in a PSP's text. */
export { scrub } from "./errorFields.js"
