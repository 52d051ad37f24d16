import { Card, Currency, Customer, type Ids, Money } from "@aegispay/core"
import { Registry } from "@aegispay/gateways"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option, Schema } from "effect"

const accounts = (simUrl: string) => [
  {
    id: "stripe-eu",
    type: "stripe",
    baseUrl: simUrl,
    apiKey: "sk_test_eu_secret",
    fees: { bps: 140, fixed: 25 }
  },
  { id: "stripe-us", type: "stripe", baseUrl: simUrl, apiKey: "sk_test_us_secret", timeoutMs: 3000 },
  {
    id: "adyen-1",
    type: "adyen",
    baseUrl: "https://checkout-test.example",
    apiKey: "adyen_secret",
    merchantAccount: "AegisPayECOM"
  },
  {
    id: "rzp-1",
    type: "razorpay",
    baseUrl: "https://rzp.example",
    keyId: "rzp_test_1",
    keySecret: "rzp_secret"
  },
  {
    id: "pp-1",
    type: "paypal",
    baseUrl: "https://pp.example",
    clientId: "pp_client",
    clientSecret: "pp_secret"
  },
  {
    id: "bt-1",
    type: "braintree",
    baseUrl: "https://bt.example",
    publicKey: "bt_pub",
    privateKey: "bt_private"
  }
]

describe("Registry", () => {
  it.scoped(
    "builds every PSP type from one JSON list; several accounts of one type; fees as configured",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const decoded = Registry.decodeJson(JSON.stringify(accounts(sim.url)))
        assert.isTrue(Either.isRight(decoded))
        const registry = yield* Registry.make(Either.getOrThrow(decoded))
        const all = yield* registry.all
        assert.deepStrictEqual(
          all.map((g) => [g.id, g.type]),
          [
            ["stripe-eu", "stripe"],
            ["stripe-us", "stripe"],
            ["adyen-1", "adyen"],
            ["rzp-1", "razorpay"],
            ["pp-1", "paypal"],
            ["bt-1", "braintree"]
          ]
        )
        const eu = yield* registry.get("stripe-eu" as Ids.GatewayId)
        assert.deepStrictEqual(Option.getOrUndefined(Option.map(eu.fees, (f) => [f.bps, f.fixed])), [
          140,
          25n
        ])
        assert.isTrue(
          Option.isNone((yield* registry.get("stripe-us" as Ids.GatewayId)).fees),
          "no fees: unknown cost"
        )
        // the configured Stripe account really charges (here: the simulator)
        const payment = yield* eu.authorize({
          idempotencyKey: "pay_01J9Z8X6Q2M4T7V3B5N8R1KREG:1" as Ids.AttemptKey,
          amount: Money.make(1_500n, Currency.make("EUR")),
          captureMethod: "automatic",
          paymentMethod: {
            _tag: "Card",
            card: Schema.decodeUnknownSync(Card.CardDetails)({
              number: "4242424242424242",
              expMonth: 1,
              expYear: 2032,
              cvc: "123"
            })
          },
          customer: new Customer.Customer({ id: "cus_r" as Ids.CustomerId }),
          metadata: {}
        })
        assert.strictEqual(payment.status, "captured")
        const unknown = yield* Effect.either(registry.get("nope" as Ids.GatewayId))
        assert.isTrue(Either.isLeft(unknown))
      }).pipe(Effect.provide(Simulator.layer({ name: "registry" })), Effect.provide(FetchHttpClient.layer))
  )

  it("bad configuration: a clear message naming the problem, never a credential", () => {
    const cases: ReadonlyArray<readonly [unknown, RegExp]> = [
      [[{ id: "a", type: "stripe", baseUrl: "http://x" }], /apiKey/],
      [[{ id: "a", type: "square", baseUrl: "http://x", apiKey: "sk_live_hidden" }], /type/],
      [[{ id: "a", type: "stripe", baseUrl: "ftp://x", apiKey: "sk_live_hidden" }], /http\(s\) URL/],
      [
        [
          { id: "a", type: "stripe", baseUrl: "http://x", apiKey: "sk_live_hidden" },
          { id: "a", type: "stripe", baseUrl: "http://y", apiKey: "sk_live_hidden" }
        ],
        /"a" is used twice/
      ],
      [[{ id: "a", type: "adyen", baseUrl: "http://x", apiKey: "sk_live_hidden" }], /merchantAccount/],
      [
        [{ id: "a", type: "stripe", baseUrl: "http://x", apiKey: "sk_live_hidden", fees: { bps: -1 } }],
        /bps|between/
      ]
    ]
    for (const [input, message] of cases) {
      const result = Registry.decodeJson(JSON.stringify(input))
      assert.isTrue(Either.isLeft(result), JSON.stringify(input))
      const text = Either.isLeft(result) ? result.left.message : ""
      assert.match(text, message)
      assert.notInclude(text, "sk_live_hidden")
    }
    assert.isTrue(Either.isLeft(Registry.decodeJson("not json")))
  })
})
