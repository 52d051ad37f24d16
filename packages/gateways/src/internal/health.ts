import type { Gateway } from "@aegispay/core"
import { Duration, Effect } from "effect"

/**
 * A health probe: times one cheap call to the PSP (through `Clock`); the PSP is reachable when the
 * call answers `true`, and not when it answers `false` or fails in any way.
 */
export const probe = <E>(call: Effect.Effect<boolean, E>): Effect.Effect<Gateway.GatewayHealth> =>
  Effect.map(Effect.timed(Effect.catchAll(call, () => Effect.succeed(false))), ([elapsed, reachable]) => ({
    reachable,
    latencyMillis: Duration.toMillis(elapsed)
  }))
