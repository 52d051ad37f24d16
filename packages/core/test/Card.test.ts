import { Card } from "@aegispay/core"
import { assert, describe, it } from "@effect/vitest"
import { Either, ParseResult, Redacted, Schema } from "effect"
import * as fc from "fast-check"

const decodeCard = Schema.decodeUnknownEither(Card.CardDetails)
const errorText = (input: unknown): string => {
  const r = decodeCard(input)
  return Either.isLeft(r) ? ParseResult.TreeFormatter.formatErrorSync(r.left) : assert.fail("accepted")
}

describe("Card", () => {
  it("checks Luhn and detects brands", () => {
    assert.isTrue(Card.luhn("4242424242424242"))
    assert.isFalse(Card.luhn("4242424242424241"))
    assert.strictEqual(Card.brandOf("4242424242424242"), "visa")
    assert.strictEqual(Card.brandOf("5555555555554444"), "mastercard")
    assert.strictEqual(Card.brandOf("2223003122003222"), "mastercard")
    assert.strictEqual(Card.brandOf("378282246310005"), "amex")
    assert.strictEqual(Card.brandOf("6011111111111117"), "discover")
    assert.strictEqual(Card.brandOf("3566002020360505"), "jcb")
    assert.strictEqual(Card.brandOf("6200000000000005"), "unionpay")
  })

  it("keeps the number and CVC redacted and summarizes to brand and last four", () => {
    const card = Either.getOrThrow(
      decodeCard({ number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123" })
    )
    assert.strictEqual(String(card.number), "<redacted>")
    assert.notInclude(JSON.stringify(card), "4242424242424242")
    assert.notInclude(JSON.stringify(card), "123")
    assert.strictEqual(Redacted.value(card.number), "4242424242424242")
    const summary = Card.summarize(card)
    assert.deepStrictEqual([summary.brand, summary.last4], ["visa", "4242"])
  })

  it("rejects bad card data without echoing it", () => {
    const typo = errorText({ number: "4242424242424241", expMonth: 12, expYear: 2030, cvc: "123" })
    assert.include(typo, "Luhn")
    assert.include(typo, "number")
    assert.notInclude(typo, "4242424242424241")
    const asNumber = errorText({ number: 4242424242424242, expMonth: 12, expYear: 2030 })
    assert.notInclude(asNumber, "4242424242424242")
    const cvc = errorText({ number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "98765" })
    assert.include(cvc, "CVC")
    assert.notInclude(cvc, "98765")
    assert.include(errorText({ number: "4242", expMonth: 12, expYear: 2030 }), "12 to 19 digits")
    assert.include(errorText({ number: "4242424242424242", expMonth: 13, expYear: 2030 }), "expMonth")
  })

  it.prop(
    "an error about a card number never contains it",
    [fc.stringMatching(/^[0-9]{12,19}$/).filter((s) => !Card.luhn(s))],
    ([digits]) => {
      assert.notInclude(errorText({ number: digits, expMonth: 1, expYear: 2030 }), digits)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it("knows when a card has expired", () => {
    assert.isFalse(Card.isExpired({ expMonth: 12, expYear: 2030 }, Date.UTC(2030, 11, 31, 23, 59)))
    assert.isTrue(Card.isExpired({ expMonth: 12, expYear: 2030 }, Date.UTC(2031, 0, 1)))
  })
})
