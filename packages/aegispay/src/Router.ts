/**
 * The Router service: snapshots every registered gateway (fees, breaker state, health), ranks them
 * with the configured strategy (`Routing.rank`), then lets routing hooks adjust the order.
 *
 * @since 0.1.0
 */
import { Gateway } from "@aegispay/core"
import { Context, Effect, Layer, Ref } from "effect"
import { GatewayGuard } from "./GatewayGuard.js"
import { Hooks } from "./Hooks.js"
import * as Routing from "./Routing.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly route: (request: Omit<Routing.RoutingRequest, "turn">) => Effect.Effect<Routing.Ranking>
  /** What the router sees now, for the health endpoint and for operators. */
  readonly snapshots: Effect.Effect<ReadonlyArray<Routing.GatewaySnapshot>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Router extends Context.Tag("aegispay/Router")<Router, Service>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (strategy: Routing.Strategy = Routing.defaultStrategy) =>
  Effect.gen(function* () {
    const registry = yield* Gateway.GatewayRegistry
    const guard = yield* GatewayGuard
    const hooks = yield* Hooks
    const turns = yield* Ref.make(0)
    const snapshots = Effect.flatMap(registry.all, (all) => Effect.forEach(all, guard.snapshot))
    const route: Service["route"] = (request) =>
      Effect.gen(function* () {
        const candidates = yield* snapshots
        const turn = yield* Ref.getAndUpdate(turns, (n) => (n + 1) % Number.MAX_SAFE_INTEGER)
        const full = { ...request, turn }
        const proposed = Routing.rank(strategy, full, candidates)
        const ranking = yield* hooks.route(full, candidates, proposed)
        // a hook may reorder or drop candidates, never add unknown or eliminated ones
        const eligible = new Set<string>(proposed.ordered)
        return { ...ranking, ordered: ranking.ordered.filter((id) => eligible.has(id)) }
      }).pipe(Effect.withSpan("Router.route", { captureStackTrace: false }))
    return Router.of({ route, snapshots })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (strategy?: Routing.Strategy) => Layer.effect(Router, make(strategy))
