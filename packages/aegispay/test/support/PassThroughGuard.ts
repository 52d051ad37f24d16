import { HealthMonitor } from "@aegispay/resilience"
import { GatewayGuard } from "aegispay"
import { Effect, Layer } from "effect"

/** A guard with no breaker and no retry: every call goes straight to the gateway. */
export const layer = Layer.succeed(
  GatewayGuard.GatewayGuard,
  GatewayGuard.GatewayGuard.of({
    call: (_gateway, effect) => effect,
    health: (gateway) => Effect.succeed(HealthMonitor.summarize(gateway, [], 60_000, 1000, "closed")),
    snapshot: (g) =>
      Effect.succeed({ id: g.id, fees: g.fees, circuit: "closed", successRate: 1, latencyP95: 0, score: 1 })
  })
)
