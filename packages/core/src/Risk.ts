/**
 * The verdict of fraud checks on a payment.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export class RiskAssessment extends Schema.Class<RiskAssessment>("RiskAssessment")({
  score: Schema.Number.pipe(Schema.between(0, 1)),
  reason: Schema.String,
  checkedBy: Schema.optional(Schema.String)
}) {}
