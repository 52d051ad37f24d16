/**
 * Integer division with an explicit rounding mode: the only place AegisPay rounds money.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * - `half-up`: nearest, ties away from zero (2.5 → 3, -2.5 → -3)
 * - `half-even`: nearest, ties to the even neighbour (2.5 → 2, 3.5 → 4), "banker's rounding"
 * - `floor`: towards negative infinity
 * - `ceil`: towards positive infinity
 *
 * @since 0.1.0
 * @category models
 */
export const RoundingMode = Schema.Literal("half-up", "half-even", "floor", "ceil")

/**
 * @since 0.1.0
 * @category models
 */
export type RoundingMode = typeof RoundingMode.Type

/**
 * `numerator / denominator` rounded with `mode`. The denominator must not be zero.
 *
 * @since 0.1.0
 * @category math
 */
export const divide = (numerator: bigint, denominator: bigint, mode: RoundingMode): bigint => {
  const d = denominator < 0n ? -denominator : denominator
  const n = denominator < 0n ? -numerator : numerator
  const q = n / d // truncates towards zero
  const r = n % d // same sign as n
  if (r === 0n) return q
  const floor = n < 0n ? q - 1n : q
  switch (mode) {
    case "floor":
      return floor
    case "ceil":
      return floor + 1n
    case "half-up":
    case "half-even": {
      const twice = (n - floor * d) * 2n // twice the distance above floor, in units of 1/d
      if (twice > d) return floor + 1n
      if (twice < d) return floor
      if (mode === "half-up") return n < 0n ? floor : floor + 1n
      return floor % 2n === 0n ? floor : floor + 1n
    }
  }
}
