/**
 * ISO 4217 currencies in active use, with their minor-unit exponents.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import { currencyTable } from "./internal/currencyTable.js"

/**
 * The exponent (number of minor-unit digits) of each active ISO 4217 currency.
 *
 * @since 0.1.0
 * @category models
 */
export const exponents: Readonly<Record<string, 0 | 2 | 3 | 4>> = currencyTable

/**
 * @since 0.1.0
 * @category models
 */
export const codes: ReadonlyArray<string> = Object.keys(currencyTable).sort()

/**
 * @since 0.1.0
 * @category guards
 */
export const isKnown = (code: string): boolean => Object.prototype.hasOwnProperty.call(currencyTable, code)

/**
 * An upper-case ISO 4217 code of a currency in active use ("USD", "JPY", "KWD").
 *
 * @since 0.1.0
 * @category schemas
 */
export const CurrencyCode = Schema.String.pipe(
  Schema.filter(
    (code) => isKnown(code) || `unknown currency code: expected an active ISO 4217 code such as USD`,
    {
      identifier: "CurrencyCode",
      description: "an active ISO 4217 currency code, upper case",
      jsonSchema: { enum: [...codes] }
    }
  ),
  Schema.brand("CurrencyCode")
)

/**
 * @since 0.1.0
 * @category models
 */
export type CurrencyCode = typeof CurrencyCode.Type

/**
 * @since 0.1.0
 * @category errors
 */
export class UnknownCurrency extends Schema.TaggedError<UnknownCurrency>("@aegispay/core/UnknownCurrency")(
  "UnknownCurrency",
  { code: Schema.String }
) {
  override get message(): string {
    return `unknown currency code "${this.code.slice(0, 16)}": expected an active ISO 4217 code such as USD, EUR or JPY`
  }
}

/**
 * Parses a currency code; upper case is required, as ISO 4217 writes them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (code: string): Either.Either<CurrencyCode, UnknownCurrency> =>
  isKnown(code) ? Either.right(code as CurrencyCode) : Either.left(new UnknownCurrency({ code }))

/**
 * The minor-unit exponent of a known currency (USD 2, JPY 0, KWD 3).
 *
 * @since 0.1.0
 * @category getters
 */
export const exponent = (code: CurrencyCode): number => currencyTable[code] ?? 2

/**
 * Unsafe constructor for literals in code and tests: dies on an unknown code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (code: string): CurrencyCode => Schema.decodeSync(CurrencyCode)(code)
