/**
 * A routing decision as stored in a payment's events: which gateways were considered, how they
 * scored, which were eliminated and why, and the human-readable reason for the order chosen.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { GatewayId } from "./Ids.js"

/**
 * @since 0.1.0
 * @category models
 */
export class RoutingCandidate extends Schema.Class<RoutingCandidate>("RoutingCandidate")({
  gateway: GatewayId,
  score: Schema.optional(Schema.Number),
  eliminated: Schema.optional(Schema.String)
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export class RoutingDecision extends Schema.Class<RoutingDecision>("RoutingDecision")({
  strategy: Schema.String,
  reason: Schema.String,
  candidates: Schema.Array(RoutingCandidate)
}) {}
