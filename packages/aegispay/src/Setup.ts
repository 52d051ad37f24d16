/**
 * `Setup.layerConfig`: the whole orchestrator from the environment (DESIGN.md section 7):
 * PostgreSQL from `DATABASE_URL` or embedded PGlite in `AEGISPAY_DATA_DIR`; gateways from
 * `AEGISPAY_GATEWAYS`, or, when absent, three simulated PSP accounts started in-process; breakers,
 * health, router, hooks and a reconciler running in the background.
 *
 * @since 0.1.0
 */
import { Fee, Gateway, Ids } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Database, EventBus, Relay } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import * as AegisPay from "./AegisPay.js"
import * as GatewayGuard from "./GatewayGuard.js"
import * as Metrics from "./Metrics.js"

/**
 * One entry of `AEGISPAY_GATEWAYS`.
 *
 * @since 0.1.0
 * @category config
 */
export const GatewayConfig = Schema.Struct({
  id: Ids.GatewayId,
  type: Schema.Literal("stripe"),
  baseUrl: Schema.String.pipe(
    Schema.pattern(/^https?:\/\/\S+$/, { message: () => "baseUrl must be an http(s) URL" })
  ),
  apiKey: Schema.String,
  fees: Schema.optional(
    Schema.Struct({
      bps: Schema.Int.pipe(Schema.between(0, 10_000)),
      fixed: Schema.optionalWith(Schema.Int, { default: () => 0 })
    })
  ),
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/**
 * Where the gateways came from, for the start-up banner.
 *
 * @since 0.1.0
 * @category tags
 */
export class GatewaySetup extends Context.Tag("aegispay/GatewaySetup")<
  GatewaySetup,
  {
    readonly simulated: boolean
    readonly gateways: ReadonlyArray<{ readonly id: string; readonly url: string }>
  }
>() {}

const simulatedGateways = Layer.scopedContext(
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
)

const configuredGateways = (raw: string) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const parsed = Schema.decodeUnknownEither(Schema.parseJson(Schema.Array(GatewayConfig)))(raw)
      if (Either.isLeft(parsed)) {
        return yield* Effect.fail(
          ConfigError.InvalidData(
            ["AEGISPAY_GATEWAYS"],
            `AEGISPAY_GATEWAYS must be a JSON list of {id, type: "stripe", baseUrl, apiKey, fees?}: ${parsed.left.message.split("\n").slice(-1)[0]?.trim()}`
          )
        )
      }
      const gateways = yield* Effect.forEach(parsed.right, (g) =>
        Stripe.make({
          id: g.id,
          baseUrl: g.baseUrl,
          apiKey: Redacted.make(g.apiKey),
          fees: g.fees ? new Fee.FeeSchedule({ bps: g.fees.bps, fixed: BigInt(g.fees.fixed) }) : undefined,
          timeout: `${g.timeoutMs ?? 10_000} millis`
        })
      )
      return Context.make(Gateway.GatewayRegistry, Gateway.registryFrom(gateways)).pipe(
        Context.add(GatewaySetup, {
          simulated: false,
          gateways: parsed.right.map((g) => ({ id: g.id, url: g.baseUrl }))
        })
      )
    })
  )

/**
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(Config.option(Config.string("AEGISPAY_GATEWAYS")), (raw) => {
    const source: Layer.Layer<Gateway.GatewayRegistry | GatewaySetup, unknown, HttpClient.HttpClient> =
      Option.isSome(raw) ? configuredGateways(raw.value) : simulatedGateways
    const gateways = source.pipe(Layer.provide(FetchHttpClient.layer))
    const stores = Database.layerConfig.pipe(Layer.provide(Ids.layer))
    // the outbox relay runs in the background, publishing to the in-process event bus
    const relay = Layer.scopedDiscard(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const worker = yield* Relay.make(Metrics.measuredPublisher(bus.publisher))
        yield* Effect.forkScoped(worker.run)
        yield* Effect.forkScoped(Metrics.sampleOutboxBacklog("5 seconds"))
      })
    ).pipe(Layer.provideMerge(EventBus.layer))
    return AegisPay.compose({
      stores: Layer.provideMerge(relay, stores),
      gateways,
      guard: GatewayGuard.layer()
    })
  })
)
