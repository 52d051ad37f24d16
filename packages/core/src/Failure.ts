/**
 * Why a payment or an attempt failed, in one taxonomy shared by gateways, hooks and the API.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * - `hard_decline`: the issuer refused for good (insufficient funds, stolen card): never retried
 * - `soft_decline`: refused for now or by this PSP only: another gateway may be tried
 * - `retryable`: the PSP is known not to have charged (rate limit, 5xx before processing)
 * - `unavailable`: the gateway was not called (circuit open, connection refused before sending)
 * - `misconfigured`: our credentials or configuration are wrong for this gateway
 * - `unknown_outcome`: the PSP may or may not have charged; only reconciliation may resolve it
 * - `fraud`: blocked by a fraud check
 * - `validation`: blocked by a validation hook or rule
 * - `exhausted`: every candidate gateway failed definitely
 *
 * @since 0.1.0
 * @category models
 */
export const FailureCategory = Schema.Literal(
  "hard_decline",
  "soft_decline",
  "retryable",
  "unavailable",
  "misconfigured",
  "unknown_outcome",
  "fraud",
  "validation",
  "exhausted"
)

/**
 * @since 0.1.0
 * @category models
 */
export type FailureCategory = typeof FailureCategory.Type

/**
 * @since 0.1.0
 * @category models
 */
export class Failure extends Schema.Class<Failure>("Failure")({
  code: Schema.String,
  message: Schema.String,
  category: FailureCategory
}) {}

/**
 * Whether another gateway may be tried after an attempt failed this way. Ambiguous outcomes and
 * hard declines never fail over.
 *
 * @since 0.1.0
 * @category predicates
 */
export const allowsFailover = (category: FailureCategory): boolean =>
  category === "soft_decline" ||
  category === "retryable" ||
  category === "unavailable" ||
  category === "misconfigured"
