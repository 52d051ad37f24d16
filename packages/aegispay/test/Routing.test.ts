import { Currency, Fee, Ids, Money } from "@aegispay/core"
import { assert, describe, it } from "@effect/vitest"
import { Routing } from "aegispay"
import { Option } from "effect"
import * as fc from "fast-check"

const g = (id: string, over: Partial<Routing.GatewaySnapshot> = {}): Routing.GatewaySnapshot => ({
  id: id as Ids.GatewayId,
  fees: Option.none(),
  circuit: "closed",
  successRate: 1,
  latencyP95: 0,
  score: 1,
  ...over
})
const fees = (bps: number, fixed: bigint) =>
  Option.some(new Fee.FeeSchedule({ bps, fixed, rounding: "half-up" }))
/** `Routing.rank` with the ordered ids as plain strings, for comparisons with literals. */
const rank = (...args: Parameters<typeof Routing.rank>) => {
  const r = Routing.rank(...args)
  return { ...r, ordered: r.ordered as ReadonlyArray<string> }
}
const request = (over: Partial<Routing.RoutingRequest> = {}): Routing.RoutingRequest => ({
  paymentId: "pay_01J9Z8X6Q2M4T7V3B5N8R1K0CD" as Ids.PaymentId,
  amount: Money.make(10_000n, Currency.make("EUR")),
  metadata: {},
  turn: 0,
  ...over
})

describe("Routing strategies", () => {
  const gateways = [
    g("a", { successRate: 0.9, latencyP95: 300, fees: fees(290, 30n) }),
    g("b", { successRate: 0.99, latencyP95: 900, fees: fees(150, 25n) }),
    g("c", { successRate: 0.95, latencyP95: 100 })
  ]

  it("highest success rate, lowest latency, lowest cost", () => {
    assert.deepStrictEqual(rank({ _tag: "HighestSuccessRate" }, request(), gateways).ordered, ["b", "c", "a"])
    assert.deepStrictEqual(rank({ _tag: "LowestLatency" }, request(), gateways).ordered, ["c", "a", "b"])
    const cost = rank({ _tag: "LowestCost" }, request(), gateways)
    assert.deepStrictEqual(cost.ordered, ["b", "a", "c"], "no fee schedule is not free: c ranks last")
    assert.include(cost.decision.reason, "no fee schedule, ranked last: c")
  })

  it("weighted score mixes success, latency and cost", () => {
    const bySuccess = rank(
      { _tag: "WeightedScore", weights: { successRate: 1, latency: 0, cost: 0 } },
      request(),
      gateways
    )
    assert.deepStrictEqual(bySuccess.ordered, ["b", "c", "a"])
    const byLatency = rank(
      { _tag: "WeightedScore", weights: { successRate: 0, latency: 1, cost: 0 } },
      request(),
      gateways
    )
    assert.deepStrictEqual(byLatency.ordered, ["c", "a", "b"])
    assert.isNumber(bySuccess.decision.candidates[0]?.score)
  })

  it("round-robin rotates with the turn", () => {
    const order = (turn: number) => rank({ _tag: "RoundRobin" }, request({ turn }), gateways).ordered[0]
    assert.deepStrictEqual([0, 1, 2, 3].map(order), ["a", "b", "c", "a"])
  })

  it("weighted split sends about the configured share to each gateway", () => {
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 }
    for (let i = 0; i < 10_000; i++) {
      const paymentId = `pay_01J9Z8X6Q2M4T7V3B5N8${String(i).padStart(6, "0")}` as Ids.PaymentId
      const first = rank(
        { _tag: "WeightedSplit", weights: { a: 70, b: 20, c: 10 } },
        request({ paymentId }),
        gateways
      ).ordered[0]!
      counts[first] = (counts[first] ?? 0) + 1
    }
    assert.approximately(counts["a"]! / 10_000, 0.7, 0.03)
    assert.approximately(counts["b"]! / 10_000, 0.2, 0.03)
    assert.approximately(counts["c"]! / 10_000, 0.1, 0.03)
  })

  it("geographic routes by country, then currency, then falls back", () => {
    const geo: Routing.Strategy = {
      _tag: "Geographic",
      countries: { IN: ["c"] },
      currencies: { EUR: ["a"] },
      fallback: { _tag: "HighestSuccessRate" }
    }
    assert.strictEqual(rank(geo, request({ country: "IN" }), gateways).ordered[0], "c")
    assert.strictEqual(rank(geo, request({ country: "DE" }), gateways).ordered[0], "a")
    const usd = request({ amount: Money.make(100n, Currency.make("USD")) })
    const fallback = rank(geo, usd, gateways)
    assert.strictEqual(fallback.ordered[0], "b")
    assert.include(fallback.decision.reason, "no geographic rule")
  })

  it("A/B splits deterministically by payment id", () => {
    const ab: Routing.Strategy = {
      _tag: "ABTest",
      experiment: "cost-vs-success",
      variants: [
        { name: "control", share: 50, strategy: { _tag: "HighestSuccessRate" } },
        { name: "cheap", share: 50, strategy: { _tag: "LowestCost" } }
      ]
    }
    const names = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const paymentId = `pay_01J9Z8X6Q2M4T7V3B5N8${String(i).padStart(6, "0")}` as Ids.PaymentId
      const once = rank(ab, request({ paymentId }), gateways)
      assert.deepStrictEqual(rank(ab, request({ paymentId }), gateways), once)
      names.add(once.decision.strategy)
    }
    assert.deepStrictEqual([...names].sort(), [
      "ab:cost-vs-success:cheap/lowest_cost",
      "ab:cost-vs-success:control/highest_success_rate"
    ])
  })

  it("rule-based applies the highest-priority matching rule", () => {
    const rules: Routing.Strategy = {
      _tag: "RuleBased",
      rules: [
        { name: "big", priority: 10, when: { minAmount: 50_000n }, gateways: ["b"] },
        { name: "vip", priority: 20, when: { metadata: { tier: "vip" } }, gateways: ["c", "a"] },
        { name: "euro", priority: 1, when: { currencies: ["EUR"] }, gateways: ["a"] }
      ],
      fallback: { _tag: "LowestLatency" }
    }
    assert.deepStrictEqual(rank(rules, request({ metadata: { tier: "vip" } }), gateways).ordered, [
      "c",
      "a",
      "b"
    ])
    assert.strictEqual(
      rank(rules, request({ amount: Money.make(60_000n, Currency.make("EUR")) }), gateways).ordered[0],
      "b"
    )
    assert.strictEqual(rank(rules, request(), gateways).ordered[0], "a")
    const none = rank(rules, request({ amount: Money.make(100n, Currency.make("USD")) }), gateways)
    assert.strictEqual(none.ordered[0], "c")
    assert.include(none.decision.reason, "no rule matched")
  })

  it("a custom strategy orders as it likes; unknown ids are ignored", () => {
    const custom: Routing.Strategy = {
      _tag: "Custom",
      name: "prefer-c",
      rank: () => [{ gateway: "zz" as Ids.GatewayId }, { gateway: "c" as Ids.GatewayId }]
    }
    assert.deepStrictEqual(rank(custom, request(), gateways).ordered, ["c", "a", "b"])
  })

  it("eliminates open breakers, unsupported currencies and unpinned gateways first, and says why", () => {
    const r = rank({ _tag: "HighestSuccessRate" }, request(), [
      g("a", { circuit: "open" }),
      g("b", { currencies: ["USD"] }),
      g("c", { circuit: "half_open" })
    ])
    assert.deepStrictEqual(r.ordered, ["c"])
    assert.include(r.decision.reason, "a (circuit open)")
    assert.include(r.decision.reason, "b (does not accept EUR)")
    const pinned = rank(Routing.defaultStrategy, request({ pinned: "b" as Ids.GatewayId }), gateways)
    assert.deepStrictEqual(pinned.ordered, ["b"])
    assert.strictEqual(pinned.decision.strategy, "pinned")
  })
})

const ids = ["gw-a", "gw-b", "gw-c", "gw-d", "gw-e"]
const snapshot = fc.record({
  id: fc.constantFrom(...ids).map((id) => id as Ids.GatewayId),
  fees: fc.option(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.bigInt({ min: 0n, max: 100n })), {
    nil: undefined
  }),
  circuit: fc.constantFrom<Routing.GatewaySnapshot["circuit"]>("closed", "open", "half_open"),
  successRate: fc.double({ min: 0, max: 1, noNaN: true }),
  latencyP95: fc.integer({ min: 0, max: 5000 }),
  score: fc.double({ min: 0, max: 1, noNaN: true }),
  currencies: fc.option(fc.subarray(["EUR", "USD", "JPY"]), { nil: undefined })
})
const leaf: fc.Arbitrary<Routing.Strategy> = fc.oneof(
  fc
    .record({
      successRate: fc.double({ min: 0, max: 1, noNaN: true }),
      latency: fc.double({ min: 0, max: 1, noNaN: true }),
      cost: fc.double({ min: 0, max: 1, noNaN: true })
    })
    .map((weights) => ({ _tag: "WeightedScore", weights }) as const),
  fc.constant({ _tag: "HighestSuccessRate" } as const),
  fc.constant({ _tag: "LowestCost" } as const),
  fc.constant({ _tag: "LowestLatency" } as const),
  fc.constant({ _tag: "RoundRobin" } as const),
  fc
    .dictionary(fc.constantFrom(...ids), fc.integer({ min: 0, max: 100 }))
    .map((weights) => ({ _tag: "WeightedSplit", weights }) as const)
)
const strategy: fc.Arbitrary<Routing.Strategy> = fc.oneof(
  leaf,
  fc
    .tuple(
      fc.dictionary(fc.constantFrom("DE", "IN", "US"), fc.subarray(ids)),
      fc.dictionary(fc.constantFrom("EUR", "USD"), fc.subarray(ids)),
      leaf
    )
    .map(
      ([countries, currencies, fallback]) =>
        ({ _tag: "Geographic", countries, currencies, fallback }) as const
    ),
  fc
    .array(
      fc.record({
        name: fc.string({ maxLength: 4 }),
        share: fc.integer({ min: 0, max: 10 }),
        strategy: leaf
      }),
      { minLength: 1, maxLength: 3 }
    )
    .map((variants) => ({ _tag: "ABTest", experiment: "x", variants }) as const),
  fc
    .tuple(
      fc.array(
        fc.record({
          name: fc.string({ maxLength: 4 }),
          priority: fc.integer({ min: 0, max: 5 }),
          when: fc.record(
            {
              minAmount: fc.option(fc.bigInt({ min: 0n, max: 20_000n }), { nil: undefined }),
              currencies: fc.option(fc.subarray(["EUR", "USD"]), { nil: undefined })
            },
            { requiredKeys: [] }
          ),
          gateways: fc.subarray([...ids, "unknown"])
        }),
        { maxLength: 4 }
      ),
      leaf
    )
    .map(([rules, fallback]) => ({ _tag: "RuleBased", rules, fallback }) as const)
)

describe("Routing laws", () => {
  it.prop(
    "only registered, non-eliminated gateways, each once; the same input gives the same order",
    [
      strategy,
      fc.uniqueArray(snapshot, { selector: (s) => s.id, maxLength: 5 }),
      fc.bigInt({ min: 1n, max: 1_000_000n }),
      fc.constantFrom("EUR", "USD", "JPY"),
      fc.nat(100),
      fc.option(fc.constantFrom(...ids), { nil: undefined })
    ],
    ([s, raw, amount, currency, turn, pinned]) => {
      const gateways = raw.map((x) =>
        g(x.id, { ...x, fees: x.fees ? fees(x.fees[0], x.fees[1]) : Option.none() })
      )
      const req = request({
        amount: Money.make(amount, Currency.make(currency)),
        turn,
        pinned: pinned as Ids.GatewayId | undefined
      })
      const r = rank(s, req, gateways)
      const eligible = gateways
        .filter(
          (x) =>
            x.circuit !== "open" &&
            (x.currencies === undefined || x.currencies.includes(currency)) &&
            (pinned === undefined || x.id === pinned)
        )
        .map((x) => x.id)
      assert.deepStrictEqual([...r.ordered].sort(), [...eligible].sort())
      assert.deepStrictEqual(rank(s, req, gateways), r)
      assert.strictEqual(r.decision.candidates.length, gateways.length)
      assert.isTrue(r.decision.reason.length > 0)
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
