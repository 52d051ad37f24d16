/**
 * Money as integer minor units (`bigint`) of an ISO 4217 currency: never a float.
 *
 * @since 0.1.0
 */
import { Either, Equal, Hash, Order, ParseResult, Schema } from "effect"
import { dual } from "effect/Function"
import * as Currency from "./Currency.js"

/**
 * An amount of minor units on the wire: a JSON integer while it is a safe integer, and a string of
 * digits (optionally signed) past 2^53 - 1, so no JSON parser ever turns it into a float.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MinorUnits: Schema.Schema<bigint, number | string> = Schema.transformOrFail(
  Schema.Union(
    Schema.Number.annotations({ description: "an integer number of minor units" }),
    Schema.String.annotations({ description: "a string of digits, for amounts past 2^53 - 1" })
  ),
  Schema.BigIntFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input === "number") {
        return Number.isSafeInteger(input)
          ? Either.right(BigInt(input))
          : Either.left(new ParseResult.Type(ast, input, "an amount must be a whole number of minor units"))
      }
      return /^-?(0|[1-9][0-9]*)$/.test(input)
        ? Either.right(BigInt(input))
        : Either.left(new ParseResult.Type(ast, input, "an amount must be a whole number of minor units"))
    },
    encode: (n) =>
      Either.right(
        n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= -BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(n)
          : n.toString()
      )
  }
).annotations({ identifier: "MinorUnits" })

/**
 * @since 0.1.0
 * @category models
 */
export class Money extends Schema.Class<Money>("Money")({
  amount: MinorUnits,
  currency: Currency.CurrencyCode
}) {
  /** @since 0.1.0 */
  override toString(): string {
    return `${format(this)} ${this.currency}`
  }
  /** @since 0.1.0 */
  [Equal.symbol](that: unknown): boolean {
    return that instanceof Money && that.amount === this.amount && that.currency === this.currency
  }
  /** @since 0.1.0 */
  [Hash.symbol](): number {
    return Hash.combine(Hash.string(this.currency))(Hash.string(this.amount.toString()))
  }
}

/**
 * The largest amount AegisPay accepts from a caller: 2^53 - 1 minor units, the largest integer every
 * JSON parser reads exactly.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_AMOUNT: bigint = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * @since 0.1.0
 * @category errors
 */
export class CurrencyMismatch extends Schema.TaggedError<CurrencyMismatch>("@aegispay/core/CurrencyMismatch")(
  "CurrencyMismatch",
  { left: Schema.String, right: Schema.String }
) {
  override get message(): string {
    return `cannot combine amounts in ${this.left} and ${this.right}: convert one first`
  }
}

/**
 * Why a decimal string is not an amount of a currency.
 *
 * @since 0.1.0
 * @category errors
 */
export class MoneyParseError extends Schema.TaggedError<MoneyParseError>("@aegispay/core/MoneyParseError")(
  "MoneyParseError",
  {
    reason: Schema.Literal(
      "Empty",
      "InvalidFormat",
      "Negative",
      "TooManyDecimals",
      "TooLarge",
      "UnknownCurrency"
    ),
    input: Schema.String,
    currency: Schema.String
  }
) {
  override get message(): string {
    const shown = JSON.stringify(this.input.length > 32 ? `${this.input.slice(0, 32)}...` : this.input)
    switch (this.reason) {
      case "Empty":
        return `an amount is required, got an empty string`
      case "InvalidFormat":
        return `${shown} is not a decimal amount: use digits with an optional "." and no exponent, sign or spaces, e.g. "12.34"`
      case "Negative":
        return `${shown} is negative: amounts must be zero or more`
      case "TooManyDecimals": {
        const e = Currency.isKnown(this.currency)
          ? Currency.exponent(this.currency as Currency.CurrencyCode)
          : 0
        return `${shown} has more decimals than ${this.currency} allows (${e})`
      }
      case "TooLarge":
        return `${shown} is larger than the maximum amount of ${MAX_AMOUNT} minor units`
      case "UnknownCurrency":
        return `unknown currency code ${JSON.stringify(this.currency.slice(0, 16))}: expected an active ISO 4217 code such as USD`
    }
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (amount: bigint, currency: Currency.CurrencyCode): Money =>
  new Money({ amount, currency })

/**
 * @since 0.1.0
 * @category constructors
 */
export const zero = (currency: Currency.CurrencyCode): Money => make(0n, currency)

/**
 * Parses a non-negative decimal string in the currency's major unit ("12.34" USD is 1234 minor units;
 * "1000" JPY is 1000; "1.234" KWD is 1234). No exponent, sign, grouping or surrounding spaces.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  input: string,
  currency: string,
  options?: { readonly max?: bigint }
): Either.Either<Money, MoneyParseError> => {
  const fail = (reason: MoneyParseError["reason"]) =>
    Either.left(new MoneyParseError({ reason, input, currency }))
  if (!Currency.isKnown(currency)) return fail("UnknownCurrency")
  const code = currency as Currency.CurrencyCode
  if (input.length === 0) return fail("Empty")
  if (input.startsWith("-") && /^-[0-9]+(\.[0-9]+)?$/.test(input)) return fail("Negative")
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(input)
  if (match === null) return fail("InvalidFormat")
  const whole = match[1] ?? "0"
  const fraction = match[2] ?? ""
  const exp = Currency.exponent(code)
  if (fraction.length > exp) return fail("TooManyDecimals")
  const amount = BigInt(whole + fraction.padEnd(exp, "0"))
  if (amount > (options?.max ?? MAX_AMOUNT)) return fail("TooLarge")
  return Either.right(make(amount, code))
}

/**
 * Formats in the currency's major unit with exactly its number of decimals ("12.34", "1000", "1.234").
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (money: Money): string => {
  const exp = Currency.exponent(money.currency)
  const negative = money.amount < 0n
  const digits = (negative ? -money.amount : money.amount).toString().padStart(exp + 1, "0")
  const whole = digits.slice(0, digits.length - exp)
  const fraction = digits.slice(digits.length - exp)
  return `${negative ? "-" : ""}${whole}${exp > 0 ? `.${fraction}` : ""}`
}

const sameCurrency = <A>(self: Money, that: Money, f: () => A): Either.Either<A, CurrencyMismatch> =>
  self.currency === that.currency
    ? Either.right(f())
    : Either.left(new CurrencyMismatch({ left: self.currency, right: that.currency }))

/**
 * @since 0.1.0
 * @category math
 */
export const add: {
  (that: Money): (self: Money) => Either.Either<Money, CurrencyMismatch>
  (self: Money, that: Money): Either.Either<Money, CurrencyMismatch>
} = dual(2, (self: Money, that: Money) =>
  sameCurrency(self, that, () => make(self.amount + that.amount, self.currency))
)

/**
 * @since 0.1.0
 * @category math
 */
export const subtract: {
  (that: Money): (self: Money) => Either.Either<Money, CurrencyMismatch>
  (self: Money, that: Money): Either.Either<Money, CurrencyMismatch>
} = dual(2, (self: Money, that: Money) =>
  sameCurrency(self, that, () => make(self.amount - that.amount, self.currency))
)

/**
 * -1, 0 or 1; amounts of different currencies do not compare.
 *
 * @since 0.1.0
 * @category comparing
 */
export const compare: {
  (that: Money): (self: Money) => Either.Either<-1 | 0 | 1, CurrencyMismatch>
  (self: Money, that: Money): Either.Either<-1 | 0 | 1, CurrencyMismatch>
} = dual(2, (self: Money, that: Money) =>
  sameCurrency(
    self,
    that,
    () => (self.amount < that.amount ? -1 : self.amount > that.amount ? 1 : 0) as -1 | 0 | 1
  )
)

/**
 * Sums amounts of one currency; the empty sum is zero in `currency`.
 *
 * @since 0.1.0
 * @category math
 */
export const sum = (
  currency: Currency.CurrencyCode,
  amounts: Iterable<Money>
): Either.Either<Money, CurrencyMismatch> => {
  let total = 0n
  for (const m of amounts) {
    if (m.currency !== currency)
      return Either.left(new CurrencyMismatch({ left: currency, right: m.currency }))
    total += m.amount
  }
  return Either.right(make(total, currency))
}

/**
 * Order on the amount of one currency; use `compare` when currencies may differ.
 *
 * @since 0.1.0
 * @category comparing
 */
export const OrderByAmount: Order.Order<Money> = Order.mapInput(Order.bigint, (m: Money) => m.amount)

/**
 * @since 0.1.0
 * @category predicates
 */
export const isZero = (self: Money): boolean => self.amount === 0n

/**
 * @since 0.1.0
 * @category predicates
 */
export const isPositive = (self: Money): boolean => self.amount > 0n

/**
 * @since 0.1.0
 * @category predicates
 */
export const isNegative = (self: Money): boolean => self.amount < 0n
