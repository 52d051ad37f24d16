import { Fee, Gateway, type Ids } from "@aegispay/core"
import { Registry, Stripe } from "@aegispay/gateways"
import { Simulator } from "@aegispay/simulator"
import { NodeHttpClient } from "@effect/platform-node"
import { Context, Effect, Layer, Redacted } from "effect"
import { GatewaySetup } from "../GatewaySetup.js"

/**
 * The PSP client: node:http with keep-alive connections (fetch cost about a tenth of a payment's
 * CPU in undici and web streams).
 */
const httpClient = NodeHttpClient.layerWithoutAgent.pipe(
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true }))
)

/** Three simulated PSP accounts on loopback, with different latency and cost profiles. */
export const simulated: Layer.Layer<Gateway.GatewayRegistry | GatewaySetup> = Layer.scopedContext(
  Effect.gen(function* () {
    const accounts = yield* Effect.forEach(Simulator.demoAccounts, (account) =>
      Effect.map(Layer.build(Simulator.layer(account)), (ctx) => ({
        account,
        sim: Context.get(ctx, Simulator.Simulator)
      }))
    )
    const fees = [
      new Fee.FeeSchedule({ bps: 250, fixed: 25n }),
      new Fee.FeeSchedule({ bps: 150, fixed: 20n }),
      new Fee.FeeSchedule({ bps: 290, fixed: 30n })
    ]
    const gateways = yield* Effect.forEach(accounts, ({ account, sim }, i) =>
      Stripe.make({
        id: `sim-${account.name.replace(/^sim/, "")}` as Ids.GatewayId,
        baseUrl: sim.url,
        apiKey: Redacted.make("sk_test_aegispay"),
        fees: fees[i]
      })
    )
    return Context.make(Gateway.GatewayRegistry, Gateway.registryFrom(gateways)).pipe(
      Context.add(GatewaySetup, {
        simulated: true,
        gateways: gateways.map((g, i) => ({ id: g.id, url: accounts[i]!.sim.url }))
      })
    )
  })
).pipe(Layer.provide(httpClient), Layer.orDie)

/** The adapters of configured accounts. */
export const fromAccounts = (
  accounts: ReadonlyArray<Registry.Account>
): Layer.Layer<Gateway.GatewayRegistry | GatewaySetup> =>
  Layer.effectContext(
    Effect.map(Registry.make(accounts), (registry) =>
      Context.make(Gateway.GatewayRegistry, registry).pipe(
        Context.add(GatewaySetup, {
          simulated: false,
          gateways: accounts.map((a) => ({ id: a.id, url: a.baseUrl }))
        })
      )
    )
  ).pipe(Layer.provide(httpClient))
