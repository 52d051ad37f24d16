/**
 * One call that wires the orchestrator.
 *
 * - `AegisPay.layer(config)`: the database (PostgreSQL, embedded PGlite or memory), the gateways
 *   (configured PSP accounts or three in-process simulators), breakers, health, router, hooks,
 *   the outbox relay (in-process bus, and NATS JetStream when configured) and the reconciler.
 * - `AegisPay.layerTest(options)`: the same over in-memory stores and in-process simulators, with
 *   the reconciler on demand (`Reconciler.runOnce`), for tests and demos.
 * - `AegisPay.compose(ports, options)`: the orchestrator over any Layers of the ports, for a host
 *   app that brings its own stores, gateways or guard.
 *
 * @since 0.1.0
 */
import type {
  EventStore,
  IdempotencyStore,
  LockManager,
  Outbox,
  PaymentReadModel,
  PersistenceError
} from "@aegispay/core"
import { Gateway, Ids } from "@aegispay/core"
import type { Registry } from "@aegispay/gateways"
import { Database, type EventBus, Memory, type Relay } from "@aegispay/infra"
import { Layer, type Redacted } from "effect"
import * as GatewayGuard from "./GatewayGuard.js"
import type { GatewaySetup } from "./GatewaySetup.js"
import * as Hooks from "./Hooks.js"
import * as internalGateways from "./internal/gateways.js"
import * as internalRelay from "./internal/relay.js"
import * as PaymentService from "./PaymentService.js"
import * as Reconciler from "./Reconciler.js"
import * as Router from "./Router.js"
import type * as Routing from "./Routing.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly strategy?: Routing.Strategy
  readonly hooks?: Hooks.Config
  readonly payments?: PaymentService.Options
  readonly reconciler?: Partial<Reconciler.Options> & {
    /** Run passes in the background (default true); false gives `runOnce` on demand only. */
    readonly background?: boolean
  }
}

/**
 * The stores the orchestrator needs.
 *
 * @since 0.1.0
 * @category models
 */
export type Stores =
  | EventStore.EventStore
  | PaymentReadModel.PaymentReadModel
  | IdempotencyStore.IdempotencyStore
  | LockManager.LockManager

/**
 * @since 0.1.0
 * @category models
 */
export type Services =
  | PaymentService.PaymentService
  | Reconciler.Reconciler
  | Router.Router
  | Hooks.Hooks
  | Ids.Ids
  | Stores
  | Gateway.GatewayRegistry
  | GatewayGuard.GatewayGuard

/**
 * Composes the orchestrator over the given port Layers.
 *
 * @since 0.1.0
 * @category layers
 */
export const compose = <S, E1, R1, E2, R2, E3, R3>(
  ports: {
    readonly stores: Layer.Layer<S, E1, R1>
    readonly gateways: Layer.Layer<Gateway.GatewayRegistry, E2, R2>
    readonly guard: Layer.Layer<GatewayGuard.GatewayGuard, E3, R3 | Gateway.GatewayRegistry>
    readonly ids?: Layer.Layer<Ids.Ids>
  },
  options: Options = {}
) => {
  const gateways = ports.gateways
  const guard = ports.guard.pipe(Layer.provideMerge(gateways))
  const base = Layer.mergeAll(ports.stores, guard, Hooks.layer(options.hooks ?? {}), ports.ids ?? Ids.layer)
  const router = Router.layer(options.strategy).pipe(Layer.provideMerge(base))
  const reconciler =
    options.reconciler?.background === false
      ? Reconciler.layer(options.reconciler)
      : Reconciler.layerRunning(options.reconciler ?? {})
  return Layer.mergeAll(PaymentService.layer(options.payments), reconciler).pipe(Layer.provideMerge(router))
}

/**
 * Where events, read model, idempotency keys and the outbox live.
 *
 * @since 0.1.0
 * @category models
 */
export type DatabaseConfig =
  | { readonly _tag: "Memory" }
  | { readonly _tag: "Pglite"; readonly dataDir?: string | undefined }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted }

/**
 * @since 0.1.0
 * @category models
 */
export type GatewaysConfig =
  | { readonly _tag: "Simulated" }
  | { readonly _tag: "Accounts"; readonly accounts: ReadonlyArray<Registry.Account> }

/**
 * @since 0.1.0
 * @category models
 */
export interface Config extends Options {
  readonly database: DatabaseConfig
  readonly gateways: GatewaysConfig
  readonly guard?: GatewayGuard.Options
  /** Publish every event to NATS JetStream too. */
  readonly nats?: { readonly servers: string; readonly stream?: string; readonly prefix?: string }
  /** The outbox relay's batch size, backoff, attempts before dead letter and poll interval. */
  readonly relay?: Relay.Options
}

/**
 * The whole orchestrator from one configuration value (`Setup.layerConfig` builds that value from
 * the environment).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config) => {
  const nats = config.nats
  const relayOptions = config.relay ?? {}
  const stores: Layer.Layer<
    Database.Stores | EventBus.EventBus,
    PersistenceError.PersistenceError | Outbox.PublishError,
    Ids.Ids
  > =
    config.database._tag === "Memory"
      ? Layer.provideMerge(internalRelay.memory(nats, relayOptions), Memory.layer())
      : Layer.provideMerge(
          internalRelay.sql(nats, relayOptions),
          config.database._tag === "Postgres"
            ? Database.layerPg(config.database.url)
            : Database.layerPglite({ dataDir: config.database.dataDir })
        )
  const gateways: Layer.Layer<Gateway.GatewayRegistry | GatewaySetup> =
    config.gateways._tag === "Simulated"
      ? internalGateways.simulated
      : internalGateways.fromAccounts(config.gateways.accounts)
  // `gateways` is one value, so the merge reuses the instance the orchestrator was built with
  return Layer.merge(
    compose(
      { stores: stores.pipe(Layer.provide(Ids.layer)), gateways, guard: GatewayGuard.layer(config.guard) },
      config
    ),
    gateways
  )
}

/**
 * In-memory stores and three in-process simulated PSPs; the reconciler runs only when asked
 * (`Reconciler.runOnce`). Everything a test needs, nothing on disk, no network beyond loopback.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (options: Options = {}) =>
  layer({
    ...options,
    database: { _tag: "Memory" },
    gateways: { _tag: "Simulated" },
    reconciler: { background: false, ...options.reconciler },
    relay: { pollInterval: "20 millis" }
  })

/**
 * @since 0.1.0
 * @category models
 */
export type LayerServices = Services | EventBus.EventBus | GatewaySetup
