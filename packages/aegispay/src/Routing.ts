/**
 * Routing strategies: given a payment and a snapshot of every registered gateway (fees, breaker
 * state, health), produce an ordered list of candidates and a human-readable reason. Pure and
 * deterministic: the same input always gives the same order (randomness-free; splits hash the
 * payment id, round-robin takes its turn number as input).
 *
 * @since 0.1.0
 */
import { Fee, Ids, Money, Routing } from "@aegispay/core"
import { Option, Schema } from "effect"
import { unitHash } from "./internal/hash.js"

/**
 * A gateway as the router sees it at decision time.
 *
 * @since 0.1.0
 * @category models
 */
export interface GatewaySnapshot {
  readonly id: Ids.GatewayId
  readonly fees: Option.Option<Fee.FeeSchedule>
  readonly circuit: "closed" | "open" | "half_open"
  /** Success rate in [0, 1] over the health window (1 with no data yet). */
  readonly successRate: number
  /** p95 latency in milliseconds over the health window (0 with no data yet). */
  readonly latencyP95: number
  /** Health score in [0, 1]. */
  readonly score: number
  /** Currencies this gateway accepts; absent means all. */
  readonly currencies?: ReadonlyArray<string> | undefined
}

/**
 * What the router knows of a payment.
 *
 * @since 0.1.0
 * @category models
 */
export interface RoutingRequest {
  readonly paymentId: Ids.PaymentId
  readonly amount: Money.Money
  readonly country?: string | undefined
  readonly cardBrand?: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  /** A gateway the caller pinned: only it is considered. */
  readonly pinned?: Ids.GatewayId | undefined
  /** The turn number for round-robin. */
  readonly turn: number
}

/**
 * A condition of a routing rule; every field given must hold.
 *
 * @since 0.1.0
 * @category models
 */
export const Condition = Schema.Struct({
  minAmount: Schema.optional(Schema.BigInt),
  maxAmount: Schema.optional(Schema.BigInt),
  currencies: Schema.optional(Schema.Array(Schema.String)),
  countries: Schema.optional(Schema.Array(Schema.String)),
  cardBrands: Schema.optional(Schema.Array(Schema.String)),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Condition = typeof Condition.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface Weights {
  readonly successRate: number
  readonly latency: number
  readonly cost: number
}

/**
 * The strategies of DESIGN.md section 3. `Custom` takes any pure ranking function (for an
 * effectful hook, see `Hooks.routing`).
 *
 * @since 0.1.0
 * @category models
 */
export type Strategy =
  | { readonly _tag: "WeightedScore"; readonly weights: Weights }
  | { readonly _tag: "HighestSuccessRate" }
  | { readonly _tag: "LowestCost" }
  | { readonly _tag: "LowestLatency" }
  | { readonly _tag: "RoundRobin" }
  | { readonly _tag: "WeightedSplit"; readonly weights: Readonly<Record<string, number>> }
  | {
      readonly _tag: "Geographic"
      readonly countries: Readonly<Record<string, ReadonlyArray<string>>>
      readonly currencies: Readonly<Record<string, ReadonlyArray<string>>>
      readonly fallback: Strategy
    }
  | {
      readonly _tag: "ABTest"
      readonly experiment: string
      readonly variants: ReadonlyArray<{
        readonly name: string
        readonly share: number
        readonly strategy: Strategy
      }>
    }
  | {
      readonly _tag: "RuleBased"
      readonly rules: ReadonlyArray<{
        readonly name: string
        readonly priority: number
        readonly when: Condition
        readonly gateways: ReadonlyArray<string>
      }>
      readonly fallback: Strategy
    }
  | {
      readonly _tag: "Custom"
      readonly name: string
      readonly rank: (
        request: RoutingRequest,
        candidates: ReadonlyArray<GatewaySnapshot>
      ) => ReadonlyArray<{ readonly gateway: Ids.GatewayId; readonly score?: number }>
    }

/**
 * @since 0.1.0
 * @category constructors
 */
export const defaultStrategy: Strategy = {
  _tag: "WeightedScore",
  weights: { successRate: 0.6, latency: 0.2, cost: 0.2 }
}

/**
 * The result: candidates in order (eliminated ones listed after, with why), and the reason.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ranking {
  readonly ordered: ReadonlyArray<Ids.GatewayId>
  readonly decision: Routing.RoutingDecision
}

interface Scored {
  readonly gateway: GatewaySnapshot
  readonly score: number
}

const byScoreThenId = (a: Scored, b: Scored): number =>
  b.score !== a.score
    ? b.score - a.score
    : a.gateway.id < b.gateway.id
      ? -1
      : a.gateway.id > b.gateway.id
        ? 1
        : 0

const feeOf = (g: GatewaySnapshot, amount: Money.Money): Option.Option<bigint> =>
  Option.map(g.fees, (schedule) => Fee.compute(amount, schedule).fee.amount)

const matches = (when: Condition, r: RoutingRequest): boolean =>
  (when.minAmount === undefined || r.amount.amount >= when.minAmount) &&
  (when.maxAmount === undefined || r.amount.amount <= when.maxAmount) &&
  (when.currencies === undefined || when.currencies.includes(r.amount.currency)) &&
  (when.countries === undefined || (r.country !== undefined && when.countries.includes(r.country))) &&
  (when.cardBrands === undefined || (r.cardBrand !== undefined && when.cardBrands.includes(r.cardBrand))) &&
  (when.metadata === undefined || Object.entries(when.metadata).every(([k, v]) => r.metadata[k] === v))

/** Puts the listed gateways first, in list order, then the rest by health score. */
const preferring = (
  preferred: ReadonlyArray<string>,
  gateways: ReadonlyArray<GatewaySnapshot>
): Array<Scored> => {
  const first = preferred.flatMap((id) => gateways.filter((g) => g.id === id))
  const rest = gateways.filter((g) => !preferred.includes(g.id))
  return [
    ...first.map((gateway, i) => ({ gateway, score: first.length - i + 1 })),
    ...rest.map((gateway) => ({ gateway, score: gateway.score })).sort(byScoreThenId)
  ]
}

const rankWith = (
  strategy: Strategy,
  r: RoutingRequest,
  gateways: ReadonlyArray<GatewaySnapshot>
): { readonly scored: Array<Scored>; readonly reason: string; readonly name: string } => {
  switch (strategy._tag) {
    case "WeightedScore": {
      const w = strategy.weights
      const total = w.successRate + w.latency + w.cost || 1
      const fees = gateways.map((g) => feeOf(g, r.amount))
      const known = fees.flatMap((f) => (Option.isSome(f) ? [f.value] : []))
      const minFee = known.length > 0 ? known.reduce((a, b) => (a < b ? a : b)) : 0n
      const maxLatency = Math.max(1, ...gateways.map((g) => g.latencyP95))
      const scored = gateways.map((gateway, i) => {
        const fee = fees[i] ?? Option.none()
        const cost = Option.match(fee, {
          onNone: () => 0,
          onSome: (f) => (f <= 0n ? 1 : Number(minFee > 0n ? minFee : 1n) / Number(f))
        })
        const latency = 1 - gateway.latencyP95 / maxLatency
        const score =
          (w.successRate * gateway.successRate + w.latency * latency + w.cost * Math.min(1, cost)) / total
        return { gateway, score: Math.round(score * 1e6) / 1e6 }
      })
      return {
        scored: scored.sort(byScoreThenId),
        name: "weighted_score",
        reason: `weighted score (success ${w.successRate}, latency ${w.latency}, cost ${w.cost})`
      }
    }
    case "HighestSuccessRate":
      return {
        scored: gateways.map((gateway) => ({ gateway, score: gateway.successRate })).sort(byScoreThenId),
        name: "highest_success_rate",
        reason: "highest success rate over the health window"
      }
    case "LowestCost": {
      const scored = gateways.map((gateway) =>
        Option.match(feeOf(gateway, r.amount), {
          onNone: () => ({ gateway, score: Number.NEGATIVE_INFINITY }),
          onSome: (fee) => ({ gateway, score: -Number(fee) })
        })
      )
      const unpriced = scored.filter((s) => s.score === Number.NEGATIVE_INFINITY).map((s) => s.gateway.id)
      return {
        scored: scored.sort(byScoreThenId),
        name: "lowest_cost",
        reason: `lowest fee for ${Money.format(r.amount)} ${r.amount.currency}${
          unpriced.length > 0 ? `; no fee schedule, ranked last: ${unpriced.join(", ")}` : ""
        }`
      }
    }
    case "LowestLatency":
      return {
        scored: gateways.map((gateway) => ({ gateway, score: -gateway.latencyP95 })).sort(byScoreThenId),
        name: "lowest_latency",
        reason: "lowest p95 latency over the health window"
      }
    case "RoundRobin": {
      const sorted = [...gateways].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      const n = sorted.length
      const start = n === 0 ? 0 : ((r.turn % n) + n) % n
      const rotated = [...sorted.slice(start), ...sorted.slice(0, start)]
      return {
        scored: rotated.map((gateway, i) => ({ gateway, score: n - i })),
        name: "round_robin",
        reason: `round-robin turn ${r.turn}`
      }
    }
    case "WeightedSplit": {
      const weighted = gateways
        .map((gateway) => ({ gateway, weight: Math.max(0, strategy.weights[gateway.id] ?? 0) }))
        .sort((a, b) => (a.gateway.id < b.gateway.id ? -1 : 1))
      const total = weighted.reduce((a, w) => a + w.weight, 0)
      if (total === 0) {
        const fallback = preferring([], gateways)
        return {
          scored: fallback,
          name: "weighted_split",
          reason: "weighted split: no weight for any candidate; by health"
        }
      }
      const point = unitHash(`split:${r.paymentId}`) * total
      let acc = 0
      let chosen = weighted[weighted.length - 1]?.gateway.id
      for (const w of weighted) {
        acc += w.weight
        if (point < acc && w.weight > 0) {
          chosen = w.gateway.id
          break
        }
      }
      const rest = weighted
        .filter((w) => w.gateway.id !== chosen)
        .sort((a, b) => b.weight - a.weight || (a.gateway.id < b.gateway.id ? -1 : 1))
      return {
        scored: preferring(chosen === undefined ? [] : [chosen, ...rest.map((w) => w.gateway.id)], gateways),
        name: "weighted_split",
        reason: `weighted split ${weighted.map((w) => `${w.gateway.id}=${w.weight}`).join(" ")}: ${chosen}`
      }
    }
    case "Geographic": {
      const byCountry = r.country !== undefined ? strategy.countries[r.country] : undefined
      const byCurrency = strategy.currencies[r.amount.currency]
      const preferred = byCountry ?? byCurrency
      if (preferred === undefined) {
        const inner = rankWith(strategy.fallback, r, gateways)
        return {
          ...inner,
          name: `geographic/${inner.name}`,
          reason: `no geographic rule for ${r.country ?? "?"}/${r.amount.currency}; ${inner.reason}`
        }
      }
      return {
        scored: preferring(preferred, gateways),
        name: "geographic",
        reason:
          byCountry !== undefined
            ? `country ${r.country} routes to ${preferred.join(", ")}`
            : `currency ${r.amount.currency} routes to ${preferred.join(", ")}`
      }
    }
    case "ABTest": {
      const total = strategy.variants.reduce((a, v) => a + Math.max(0, v.share), 0)
      const point = unitHash(`ab:${strategy.experiment}:${r.paymentId}`) * (total || 1)
      let acc = 0
      let variant = strategy.variants[strategy.variants.length - 1]
      for (const v of strategy.variants) {
        acc += Math.max(0, v.share)
        if (point < acc) {
          variant = v
          break
        }
      }
      if (variant === undefined) return rankWith(defaultStrategy, r, gateways)
      const inner = rankWith(variant.strategy, r, gateways)
      return {
        ...inner,
        name: `ab:${strategy.experiment}:${variant.name}/${inner.name}`,
        reason: `experiment ${strategy.experiment}, variant ${variant.name}: ${inner.reason}`
      }
    }
    case "RuleBased": {
      const rule = [...strategy.rules]
        .sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : 1))
        .find(
          (rule) => matches(rule.when, r) && rule.gateways.some((id) => gateways.some((g) => g.id === id))
        )
      if (rule === undefined) {
        const inner = rankWith(strategy.fallback, r, gateways)
        return { ...inner, name: `rules/${inner.name}`, reason: `no rule matched; ${inner.reason}` }
      }
      return {
        scored: preferring(rule.gateways, gateways),
        name: "rule_based",
        reason: `rule "${rule.name}" (priority ${rule.priority}) routes to ${rule.gateways.join(", ")}`
      }
    }
    case "Custom": {
      const ranked = strategy.rank(r, gateways)
      const known = ranked.filter(
        (x, i) =>
          gateways.some((g) => g.id === x.gateway) && ranked.findIndex((y) => y.gateway === x.gateway) === i
      )
      return {
        scored: [
          ...known.map((x, i) => ({
            gateway: gateways.find((g) => g.id === x.gateway)!,
            score: x.score ?? known.length - i
          })),
          ...gateways
            .filter((g) => !known.some((x) => x.gateway === g.id))
            .map((gateway) => ({ gateway, score: Number.NEGATIVE_INFINITY }))
        ],
        name: `custom:${strategy.name}`,
        reason: `custom strategy ${strategy.name}`
      }
    }
  }
}

const eliminationOf = (g: GatewaySnapshot, r: RoutingRequest): string | undefined => {
  if (r.pinned !== undefined && g.id !== r.pinned) return "not the pinned gateway"
  if (g.circuit === "open") return "circuit open"
  if (g.currencies !== undefined && !g.currencies.includes(r.amount.currency))
    return `does not accept ${r.amount.currency}`
  return undefined
}

/**
 * Ranks the gateways for a payment: eliminates first (not the pinned one, circuit open, currency
 * not accepted), then orders the rest by the strategy.
 *
 * @since 0.1.0
 * @category routing
 */
export const rank = (
  strategy: Strategy,
  request: RoutingRequest,
  gateways: ReadonlyArray<GatewaySnapshot>
): Ranking => {
  const eliminated = gateways.flatMap((g) => {
    const why = eliminationOf(g, request)
    return why === undefined ? [] : [{ gateway: g, why }]
  })
  const eligible = gateways.filter((g) => eliminationOf(g, request) === undefined)
  const { name, reason, scored } = rankWith(
    request.pinned !== undefined ? { _tag: "HighestSuccessRate" } : strategy,
    request,
    eligible
  )
  const finite = (n: number) => (Number.isFinite(n) ? { score: n } : {})
  return {
    ordered: scored.map((s) => s.gateway.id),
    decision: new Routing.RoutingDecision(
      {
        strategy: request.pinned !== undefined ? "pinned" : name,
        reason:
          (request.pinned !== undefined ? `pinned to ${request.pinned}` : reason) +
          (eliminated.length > 0
            ? `; eliminated ${eliminated.map((e) => `${e.gateway.id} (${e.why})`).join(", ")}`
            : ""),
        candidates: [
          ...scored.map(
            (s) => new Routing.RoutingCandidate({ gateway: s.gateway.id, ...finite(s.score) }, true)
          ),
          ...eliminated.map(
            (e) => new Routing.RoutingCandidate({ gateway: e.gateway.id, eliminated: e.why }, true)
          )
        ]
      },
      true
    )
  }
}
