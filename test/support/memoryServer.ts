/**
 * The HTTP server on in-memory stores over one simulated PSP (the real Stripe adapter pointed at
 * the simulator), on a free loopback port, for suites that only talk to the API.
 */
import { Gateway, Ids } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Server } from "@aegispay/http"
import { Database } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { AegisPay, GatewayGuard, Telemetry } from "aegispay"
import { Context, Effect, Layer, Logger, LogLevel, Option, Redacted, type Scope } from "effect"

/** Starts it in the current scope; `keys` maps API keys to merchant ids. */
export const serve = (
  name: string,
  keys: ReadonlyArray<readonly [key: string, merchant: string]>
): Effect.Effect<{ readonly url: string; readonly simulator: Simulator.Service }, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const simulator = Context.get(yield* Layer.build(Simulator.layer({ name })), Simulator.Simulator)
    const stripe = yield* Stripe.make({
      id: `sim-${name}` as Ids.GatewayId,
      baseUrl: simulator.url,
      apiKey: Redacted.make("sk_test_x")
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const app = AegisPay.compose(
      {
        stores: Database.layerMemory.pipe(Layer.provide(Ids.layer)),
        gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([stripe])),
        guard: GatewayGuard.layer()
      },
      { reconciler: { background: false } }
    )
    const context = yield* Layer.build(
      Server.layer({ port: 0, host: "127.0.0.1", apiKeys: new Map(keys), devKey: Option.none() }).pipe(
        Layer.provide(Layer.merge(app, Telemetry.layer({ serviceName: "test" }))),
        Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    return { url: `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`, simulator }
  })
