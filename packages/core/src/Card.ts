/**
 * Card data. The full number and the CVC only ever exist as `Redacted` values inside the request
 * that carries them; everything AegisPay keeps, logs or publishes is a `CardSummary` (brand, last 4).
 *
 * @since 0.1.0
 */
import { Redacted, Schema } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export const CardBrand = Schema.Literal(
  "visa",
  "mastercard",
  "amex",
  "discover",
  "diners",
  "jcb",
  "unionpay",
  "maestro",
  "unknown"
)

/**
 * @since 0.1.0
 * @category models
 */
export type CardBrand = typeof CardBrand.Type

/**
 * The Luhn (mod 10) check digit test.
 *
 * @since 0.1.0
 * @category predicates
 */
export const luhn = (digits: string): boolean => {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (d < 0 || d > 9) return false
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return digits.length > 0 && sum % 10 === 0
}

const between = (digits: string, length: number, low: number, high: number): boolean => {
  const n = Number(digits.slice(0, length))
  return digits.length >= length && n >= low && n <= high
}

/**
 * The card scheme, from the number's leading digits (IIN ranges).
 *
 * @since 0.1.0
 * @category getters
 */
export const brandOf = (digits: string): CardBrand => {
  if (digits.startsWith("4")) return "visa"
  if (between(digits, 2, 51, 55) || between(digits, 4, 2221, 2720)) return "mastercard"
  if (digits.startsWith("34") || digits.startsWith("37")) return "amex"
  if (digits.startsWith("6011") || digits.startsWith("65") || between(digits, 3, 644, 649)) return "discover"
  if (between(digits, 4, 3528, 3589)) return "jcb"
  if (
    digits.startsWith("36") ||
    digits.startsWith("38") ||
    digits.startsWith("39") ||
    between(digits, 3, 300, 305)
  ) {
    return "diners"
  }
  if (digits.startsWith("62")) return "unionpay"
  if (digits.startsWith("50") || between(digits, 2, 56, 58) || digits.startsWith("67")) return "maestro"
  return "unknown"
}

/**
 * A primary account number: 12 to 19 digits passing the Luhn check. Error messages never contain
 * the input.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CardNumberDigits = Schema.String.annotations({
  message: () => "a card number must be a string of 12 to 19 digits"
}).pipe(
  Schema.filter((s) => /^[0-9]{12,19}$/.test(s), {
    message: () => "a card number must be a string of 12 to 19 digits"
  }),
  Schema.filter((s) => luhn(s), { message: () => "the card number fails the Luhn check: check for a typo" })
)

/**
 * The card number, decoded into a `Redacted` so that it prints as `<redacted>` anywhere it leaks.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CardNumber = Schema.Redacted(CardNumberDigits)

/**
 * @since 0.1.0
 * @category schemas
 */
export const Cvc = Schema.Redacted(
  Schema.String.annotations({ message: () => "a CVC must be a string of 3 or 4 digits" }).pipe(
    Schema.filter((s) => /^[0-9]{3,4}$/.test(s), { message: () => "a CVC must be a string of 3 or 4 digits" })
  )
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const ExpMonth = Schema.Int.pipe(Schema.between(1, 12)).annotations({
  message: () => "expMonth must be a whole number from 1 to 12"
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ExpYear = Schema.Int.pipe(Schema.between(2000, 2199)).annotations({
  message: () => "expYear must be a four-digit year"
})

/**
 * A card as a caller sends it.
 *
 * @since 0.1.0
 * @category models
 */
export class CardDetails extends Schema.Class<CardDetails>("CardDetails")({
  number: CardNumber,
  expMonth: ExpMonth,
  expYear: ExpYear,
  cvc: Schema.optionalWith(Cvc, { exact: true }),
  holderName: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(200)), { exact: true })
}) {}

/**
 * What may be kept about a card: brand, last four digits and expiry.
 *
 * @since 0.1.0
 * @category models
 */
export class CardSummary extends Schema.Class<CardSummary>("CardSummary")({
  brand: CardBrand,
  last4: Schema.String.pipe(Schema.pattern(/^[0-9]{4}$/)),
  expMonth: Schema.Int,
  expYear: Schema.Int
}) {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const summarize = (card: CardDetails): CardSummary => {
  const digits = Redacted.value(card.number)
  return new CardSummary({
    brand: brandOf(digits),
    last4: digits.slice(-4),
    expMonth: card.expMonth,
    expYear: card.expYear
  })
}

/**
 * Whether the card has expired at `now` (it is valid through the last day of its expiry month, UTC).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isExpired = (
  card: { readonly expMonth: number; readonly expYear: number },
  nowMillis: number
): boolean => nowMillis >= Date.UTC(card.expYear, card.expMonth, 1)
