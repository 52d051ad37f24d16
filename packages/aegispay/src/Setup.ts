/**
 * `Setup.layerConfig`: the whole orchestrator from the environment (DESIGN.md section 7):
 * PostgreSQL from `DATABASE_URL` or embedded PGlite in `AEGISPAY_DATA_DIR`; gateways from
 * `AEGISPAY_GATEWAYS`, or, when absent, three simulated PSP accounts started in-process; breakers,
 * health, router, hooks and a reconciler running in the background; the outbox relay publishing
 * to the in-process event bus and, with `NATS_URL`, to NATS JetStream.
 *
 * @since 0.1.0
 */
import { Fee, Gateway, Ids } from "@aegispay/core"
import { Registry, Stripe } from "@aegispay/gateways"
import { Database, EventBus, JetStream, Relay } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import * as AegisPay from "./AegisPay.js"
import * as GatewayGuard from "./GatewayGuard.js"
import { fanOut } from "./internal/fanOut.js"
import * as Metrics from "./Metrics.js"

/**
 * One entry of `AEGISPAY_GATEWAYS` (see `Registry` in `@aegispay/gateways` for every PSP type).
 *
 * @since 0.1.0
 * @category config
 */
export const GatewayConfig = Registry.Account

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
      const parsed = Registry.decodeJson(raw)
      if (Either.isLeft(parsed)) {
        return yield* Effect.fail(
          ConfigError.InvalidData(
            ["AEGISPAY_GATEWAYS"],
            `AEGISPAY_GATEWAYS must be a JSON list of {id, type (${Registry.types.join(", ")}), baseUrl, credentials, fees?}: ${parsed.left.message}`
          )
        )
      }
      const registry = yield* Registry.make(parsed.right)
      return Context.make(Gateway.GatewayRegistry, registry).pipe(
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
    // the outbox relay runs in the background, publishing to the in-process event bus and, when
    // NATS_URL is set, to NATS JetStream (the event id as message id, so the broker drops copies)
    const relay = Layer.scopedDiscard(
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const nats = yield* Config.all({
          servers: Config.option(Config.string("NATS_URL")),
          stream: Config.string("AEGISPAY_NATS_STREAM").pipe(Config.withDefault("AEGISPAY")),
          prefix: Config.string("AEGISPAY_NATS_SUBJECT_PREFIX").pipe(Config.withDefault("aegispay"))
        })
        const publishers = [bus.publisher]
        if (Option.isSome(nats.servers)) {
          const jetstream = yield* JetStream.make({
            servers: nats.servers.value,
            stream: nats.stream,
            prefix: nats.prefix
          }).pipe(
            Effect.mapError((e) =>
              ConfigError.InvalidData(["NATS_URL"], `NATS_URL is set but JetStream is unusable: ${e.reason}`)
            )
          )
          publishers.push(jetstream.publisher)
        }
        const worker = yield* Relay.make(Metrics.measuredPublisher(fanOut(publishers)))
        yield* Effect.forkScoped(worker.run)
        yield* Effect.forkScoped(Metrics.sampleOutboxBacklog("5 seconds"))
      })
    ).pipe(Layer.provideMerge(EventBus.layer))
    // `gateways` is one value, so the merge reuses the instance the orchestrator was built with
    return Layer.merge(
      AegisPay.compose({
        stores: Layer.provideMerge(relay, stores),
        gateways,
        guard: GatewayGuard.layer()
      }),
      gateways
    )
  })
)
