import { Currency, Fee, Money, Rounding } from "@aegispay/core"
import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as fc from "fast-check"

const RUNS = { fastCheck: { numRuns: 1000 } }
const currency = fc.constantFrom(...Currency.codes).map((c) => c as Currency.CurrencyCode)
const amount = fc.bigInt({ min: 0n, max: Money.MAX_AMOUNT })
const money = fc.tuple(amount, currency).map(([a, c]) => Money.make(a, c))
const mode = fc.constantFrom<Rounding.RoundingMode>("half-up", "half-even", "floor", "ceil")

const usd = Currency.make("USD")
const parseError = (input: string, code = "USD") => {
  const result = Money.parse(input, code)
  assert.isTrue(Either.isLeft(result), `expected ${JSON.stringify(input)} to be rejected`)
  return Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : assert.fail("no error")))
}

describe("Currency", () => {
  it("knows the exponents of ISO 4217", () => {
    assert.strictEqual(Currency.exponent(Currency.make("USD")), 2)
    assert.strictEqual(Currency.exponent(Currency.make("JPY")), 0)
    assert.strictEqual(Currency.exponent(Currency.make("KWD")), 3)
    assert.strictEqual(Currency.exponent(Currency.make("CLF")), 4)
    assert.isAbove(Currency.codes.length, 150)
    assert.isFalse(Currency.isKnown("usd"))
    assert.isFalse(Currency.isKnown("HRK"))
  })

  it("rejects an unknown code with a message a person understands", () => {
    const result = Currency.parse("XYZ")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "unknown currency code")
  })
})

describe("Money.parse and format", () => {
  it("reads amounts in the currency's major unit", () => {
    const cases: Array<[string, string, bigint]> = [
      ["12.34", "USD", 1234n],
      ["12", "USD", 1200n],
      ["0.5", "EUR", 50n],
      ["1000", "JPY", 1000n],
      ["1.234", "KWD", 1234n],
      ["0", "USD", 0n]
    ]
    for (const [input, code, minor] of cases) {
      const m = Either.getOrThrow(Money.parse(input, code))
      assert.strictEqual(m.amount, minor)
      assert.strictEqual(m.currency, code)
    }
  })

  it("writes the currency's number of decimals", () => {
    assert.strictEqual(Money.format(Money.make(1234n, usd)), "12.34")
    assert.strictEqual(Money.format(Money.make(5n, usd)), "0.05")
    assert.strictEqual(Money.format(Money.make(1000n, Currency.make("JPY"))), "1000")
    assert.strictEqual(Money.format(Money.make(1234n, Currency.make("KWD"))), "1.234")
    assert.strictEqual(Money.format(Money.make(-1234n, usd)), "-12.34")
  })

  it("rejects bad input with a typed error a person understands", () => {
    assert.strictEqual(parseError("12.345").reason, "TooManyDecimals")
    assert.include(parseError("12.345").message, "more decimals than USD allows (2)")
    assert.strictEqual(parseError("1.5", "JPY").reason, "TooManyDecimals")
    assert.strictEqual(parseError("-1").reason, "Negative")
    assert.include(parseError("-1").message, "negative")
    assert.strictEqual(parseError("1e3").reason, "InvalidFormat")
    assert.include(parseError("1e3").message, "no exponent")
    assert.strictEqual(parseError("NaN").reason, "InvalidFormat")
    assert.strictEqual(parseError("Infinity").reason, "InvalidFormat")
    assert.strictEqual(parseError(" 1").reason, "InvalidFormat")
    assert.strictEqual(parseError("1,000.00").reason, "InvalidFormat")
    assert.strictEqual(parseError(".5").reason, "InvalidFormat")
    assert.strictEqual(parseError("").reason, "Empty")
    assert.include(parseError("").message, "required")
    assert.strictEqual(parseError("90071992547409.92").reason, "TooLarge")
    assert.strictEqual(parseError("99999999999999999999999").reason, "TooLarge")
    assert.include(parseError("90071992547409.92").message, "maximum")
    assert.strictEqual(parseError("10", "XYZ").reason, "UnknownCurrency")
    assert.strictEqual(parseError("10", "usd").reason, "UnknownCurrency")
    assert.include(parseError("10", "XYZ").message, "ISO 4217")
  })

  it("accepts exactly the maximum", () => {
    assert.strictEqual(Either.getOrThrow(Money.parse("90071992547409.91", "USD")).amount, Money.MAX_AMOUNT)
  })

  it.prop(
    "parse(format(m)) = m",
    [money],
    ([m]) => {
      const back = Either.getOrThrow(Money.parse(Money.format(m), m.currency))
      assert.strictEqual(back.amount, m.amount)
      assert.strictEqual(back.currency, m.currency)
    },
    RUNS
  )

  it.prop(
    "format gives exactly the currency's decimals",
    [money],
    ([m]) => {
      const s = Money.format(m)
      const e = Currency.exponent(m.currency)
      assert.strictEqual(s.includes(".") ? s.split(".")[1]!.length : 0, e)
    },
    RUNS
  )
})

describe("Money arithmetic", () => {
  it("refuses to mix currencies", () => {
    const result = Money.add(Money.make(1n, usd), Money.make(1n, Currency.make("EUR")))
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "CurrencyMismatch")
      assert.include(result.left.message, "USD and EUR")
    }
    assert.isTrue(Either.isLeft(Money.compare(Money.make(1n, usd), Money.make(1n, Currency.make("JPY")))))
    assert.isTrue(Either.isLeft(Money.sum(usd, [Money.make(1n, usd), Money.make(1n, Currency.make("EUR"))])))
  })

  it.prop(
    "add then subtract is the identity, and compare agrees with bigint order",
    [amount, amount, currency],
    ([a, b, c]) => {
      const x = Money.make(a, c)
      const y = Money.make(b, c)
      const s = Either.getOrThrow(Money.add(x, y))
      assert.strictEqual(typeof s.amount, "bigint")
      assert.strictEqual(Either.getOrThrow(Money.subtract(s, y)).amount, a)
      assert.strictEqual(Either.getOrThrow(Money.compare(x, y)), a < b ? -1 : a > b ? 1 : 0)
    },
    RUNS
  )

  it.prop(
    "JSON form is an integer up to 2^53 - 1 and a digit string past it",
    [fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n })],
    ([n]) => {
      const encoded = Schema.encodeSync(Money.MinorUnits)(n)
      const safe = n <= Money.MAX_AMOUNT && n >= -Money.MAX_AMOUNT
      assert.strictEqual(typeof encoded, safe ? "number" : "string")
      const wire = JSON.parse(JSON.stringify(encoded)) as number | string
      assert.strictEqual(Schema.decodeUnknownSync(Money.MinorUnits)(wire), n)
    },
    RUNS
  )

  it("MinorUnits rejects floats and junk", () => {
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, "1.5", "1e3", "", "0x10", " 1"]) {
      assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Money.MinorUnits)(bad)), String(bad))
    }
  })
})

describe("Rounding.divide", () => {
  it("rounds as each mode says", () => {
    const t = (n: bigint, d: bigint, m: Rounding.RoundingMode) => Rounding.divide(n, d, m)
    assert.deepStrictEqual(
      [t(25n, 10n, "half-up"), t(25n, 10n, "half-even"), t(35n, 10n, "half-even")],
      [3n, 2n, 4n]
    )
    assert.deepStrictEqual(
      [t(-25n, 10n, "half-up"), t(-25n, 10n, "half-even"), t(-25n, 10n, "floor")],
      [-3n, -2n, -3n]
    )
    assert.deepStrictEqual([t(21n, 10n, "ceil"), t(29n, 10n, "floor"), t(-21n, 10n, "ceil")], [3n, 2n, -2n])
    assert.deepStrictEqual([t(24n, 10n, "half-up"), t(26n, 10n, "half-even")], [2n, 3n])
  })

  it.prop(
    "the result is within one of the exact quotient, on the side the mode says",
    [fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.bigInt({ min: 1n, max: 10n ** 6n }), mode],
    ([n, d, m]) => {
      const q = Rounding.divide(n, d, m)
      const diff = q * d - n // (q - exact) * d
      if (m === "floor") assert.isTrue(diff <= 0n && diff > -d)
      if (m === "ceil") assert.isTrue(diff >= 0n && diff < d)
      if (m === "half-up" || m === "half-even") assert.isTrue(2n * (diff < 0n ? -diff : diff) <= d)
    },
    RUNS
  )
})

describe("Fee", () => {
  const schedule = fc
    .tuple(fc.integer({ min: 0, max: 10_000 }), fc.bigInt({ min: 0n, max: 10_000n }), mode)
    .map(([bps, fixed, rounding]) => new Fee.FeeSchedule({ bps, fixed, rounding }))

  it("computes 2.9% + 30 on 10.00 USD", () => {
    const f = Fee.compute(
      Money.make(1000n, usd),
      new Fee.FeeSchedule({ bps: 290, fixed: 30n, rounding: "half-up" })
    )
    assert.strictEqual(f.fee.amount, 59n)
    assert.strictEqual(f.net.amount, 941n)
  })

  it("rounds the percentage part with the mode chosen", () => {
    const gross = Money.make(1050n, usd) // 1.5% of 1050 = 15.75
    const fee = (rounding: Rounding.RoundingMode) =>
      Fee.compute(gross, new Fee.FeeSchedule({ bps: 150, fixed: 0n, rounding })).fee.amount
    assert.deepStrictEqual(
      [fee("half-up"), fee("half-even"), fee("floor"), fee("ceil")],
      [16n, 16n, 15n, 16n]
    )
  })

  it.prop(
    "fee + net = gross, and no float comes out",
    [money, schedule],
    ([gross, s]) => {
      const f = Fee.compute(gross, s)
      assert.strictEqual(typeof f.fee.amount, "bigint")
      assert.strictEqual(typeof f.net.amount, "bigint")
      assert.strictEqual(f.fee.amount + f.net.amount, gross.amount)
      assert.strictEqual(f.fee.currency, gross.currency)
      const exact = gross.amount * BigInt(s.bps) // fee - fixed is exact / 10000 rounded
      const variable = f.fee.amount - s.fixed
      assert.isTrue(variable * 10_000n - exact < 10_000n && exact - variable * 10_000n < 10_000n)
    },
    RUNS
  )
})

describe("Fee.allocate", () => {
  it("splits 100 in three by largest remainder", () => {
    const parts = Either.getOrThrow(Fee.allocate(Money.make(100n, usd), [1, 1, 1])).map((m) => m.amount)
    assert.deepStrictEqual(parts, [34n, 33n, 33n])
    const weighted = Either.getOrThrow(Fee.allocate(Money.make(1000n, usd), [70, 20, 10])).map(
      (m) => m.amount
    )
    assert.deepStrictEqual(weighted, [700n, 200n, 100n])
  })

  it("refuses ratios it cannot use", () => {
    for (const ratios of [[], [0, 0], [-1, 2], [1.5]]) {
      const result = Fee.allocate(Money.make(100n, usd), ratios)
      assert.isTrue(Either.isLeft(result), JSON.stringify(ratios))
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "InvalidRatios")
    }
  })

  it.prop(
    "parts sum to the whole and each is within one minor unit of the exact share",
    [
      fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
      currency,
      fc
        .array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 12 })
        .filter((rs) => rs.some((r) => r > 0))
    ],
    ([total, c, ratios]) => {
      const parts = Either.getOrThrow(Fee.allocate(Money.make(total, c), ratios))
      assert.strictEqual(parts.length, ratios.length)
      assert.strictEqual(
        parts.reduce((a, p) => a + p.amount, 0n),
        total
      )
      const weight = BigInt(ratios.reduce((a, r) => a + r, 0))
      parts.forEach((p, i) => {
        assert.strictEqual(typeof p.amount, "bigint")
        const deviation = p.amount * weight - total * BigInt(ratios[i]!) // (part - exact) * weight
        assert.isTrue(deviation < weight && deviation > -weight, `part ${i} is off by a unit or more`)
      })
    },
    RUNS
  )
})
