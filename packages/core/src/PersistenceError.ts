/**
 * A store could not be reached or refused the operation: an operational failure the caller sees
 * (HTTP 503), never swallowed.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 * @category errors
 */
export class PersistenceError extends Schema.TaggedError<PersistenceError>("@aegispay/core/PersistenceError")(
  "PersistenceError",
  {
    operation: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  override get message(): string {
    return `persistence failed during ${this.operation}`
  }
}
