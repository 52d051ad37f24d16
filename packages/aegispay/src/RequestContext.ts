/**
 * Per-request context that flows into logs and event metadata: the correlation id and the W3C
 * trace parent. The HTTP layer sets them with `Effect.locally`; the library reads them.
 *
 * @since 0.1.0
 */
import { FiberRef, Option } from "effect"

/**
 * @since 0.1.0
 * @category fiber refs
 */
export const correlationId: FiberRef.FiberRef<Option.Option<string>> = FiberRef.unsafeMake(
  Option.none<string>()
)

/**
 * @since 0.1.0
 * @category fiber refs
 */
export const traceparent: FiberRef.FiberRef<Option.Option<string>> = FiberRef.unsafeMake(
  Option.none<string>()
)
