/**
 * Fees in basis points plus a fixed part, rounded with an explicit mode; and splitting an amount into
 * parts by ratio with the largest-remainder method, so parts always add up to the whole.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import * as Currency from "./Currency.js"
import * as Money from "./Money.js"
import * as Rounding from "./Rounding.js"

/**
 * A PSP's price for one payment: `bps` basis points (1 bp = 0.01 %) of the amount, plus `fixed` minor
 * units in the payment's currency, the percentage part rounded with `rounding`.
 *
 * @since 0.1.0
 * @category models
 */
export class FeeSchedule extends Schema.Class<FeeSchedule>("FeeSchedule")({
  bps: Schema.Int.pipe(Schema.between(0, 10_000)),
  fixed: Money.MinorUnits.pipe(Schema.filter((n) => n >= 0n || "a fixed fee must not be negative")),
  rounding: Schema.optionalWith(Rounding.RoundingMode, { default: () => "half-up" as const })
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface FeeBreakdown {
  readonly gross: Money.Money
  readonly fee: Money.Money
  readonly net: Money.Money
}

/**
 * The fee on `gross` and what is left of it. `fee + net = gross` always holds; the fee may exceed a
 * tiny gross amount (then `net` is negative), which a cost-based router sees as a bad deal.
 *
 * @since 0.1.0
 * @category math
 */
export const compute = (gross: Money.Money, schedule: FeeSchedule): FeeBreakdown => {
  const variable = Rounding.divide(gross.amount * BigInt(schedule.bps), 10_000n, schedule.rounding)
  const fee = variable + schedule.fixed
  return {
    gross,
    fee: Money.make(fee, gross.currency),
    net: Money.make(gross.amount - fee, gross.currency)
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class InvalidRatios extends Schema.TaggedError<InvalidRatios>("@aegispay/core/InvalidRatios")(
  "InvalidRatios",
  {
    reason: Schema.String
  }
) {
  override get message(): string {
    return `cannot allocate: ${this.reason}`
  }
}

/**
 * Splits `total` into one part per ratio, in proportion, by largest remainder: every part is the exact
 * share rounded down (towards zero) or up by one minor unit, and the parts add up to `total` exactly.
 * Ties in remainders go to the earlier ratio, so the result is deterministic.
 *
 * @since 0.1.0
 * @category math
 */
export const allocate = (
  total: Money.Money,
  ratios: ReadonlyArray<bigint | number>
): Either.Either<ReadonlyArray<Money.Money>, InvalidRatios> => {
  if (ratios.length === 0) return Either.left(new InvalidRatios({ reason: "no ratios given" }))
  const rs: Array<bigint> = []
  for (const r of ratios) {
    if (typeof r === "number" && !Number.isSafeInteger(r)) {
      return Either.left(new InvalidRatios({ reason: "ratios must be whole numbers" }))
    }
    const b = BigInt(r)
    if (b < 0n) return Either.left(new InvalidRatios({ reason: "ratios must not be negative" }))
    rs.push(b)
  }
  const weight = rs.reduce((a, b) => a + b, 0n)
  if (weight === 0n) return Either.left(new InvalidRatios({ reason: "ratios must not all be zero" }))
  const negative = total.amount < 0n
  const whole = negative ? -total.amount : total.amount
  const parts = rs.map((r) => (whole * r) / weight)
  const remainders = rs.map((r, i) => ({ i, rem: (whole * r) % weight }))
  let left = whole - parts.reduce((a, b) => a + b, 0n)
  remainders.sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1))
  for (const { i } of remainders) {
    if (left === 0n) break
    parts[i] = (parts[i] ?? 0n) + 1n
    left -= 1n
  }
  return Either.right(parts.map((p) => Money.make(negative ? -p : p, total.currency)))
}

/**
 * The fee schedule's currency-independent description, for logs and docs ("2.9% + 30").
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe = (schedule: FeeSchedule, currency: Currency.CurrencyCode): string =>
  `${schedule.bps / 100}% + ${Money.format(Money.make(schedule.fixed, currency))} ${currency}`
