/**
 * How the orchestrator calls a PSP: through that gateway's circuit breaker, its retry policy and
 * the health monitor; and what the router sees of each gateway. The default implementation over
 * `@aegispay/resilience` is `GatewayGuard.layer`.
 *
 * @since 0.1.0
 */
import type { Gateway, GatewayError, Ids } from "@aegispay/core"
import { Context, Effect, Schema } from "effect"
import type * as Routing from "./Routing.js"

/**
 * The gateway was not called: its breaker is open, or its bulkhead is full.
 *
 * @since 0.1.0
 * @category errors
 */
export class GatewayRefused extends Schema.TaggedError<GatewayRefused>("aegispay/GatewayRefused")(
  "GatewayRefused",
  {
    gateway: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `${this.gateway} was not called: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs one PSP call through the gateway's breaker and retry policy, recording its outcome. */
  readonly call: <A>(
    gateway: Ids.GatewayId,
    effect: Effect.Effect<A, GatewayError.GatewayError>
  ) => Effect.Effect<A, GatewayError.GatewayError | GatewayRefused>
  readonly snapshot: (gateway: Gateway.Gateway) => Effect.Effect<Routing.GatewaySnapshot>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class GatewayGuard extends Context.Tag("aegispay/GatewayGuard")<GatewayGuard, Service>() {}
