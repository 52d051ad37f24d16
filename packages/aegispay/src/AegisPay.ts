/**
 * One call that wires the orchestrator: `AegisPay.compose` takes the Layers of the ports (stores,
 * gateways, guard) and gives `PaymentService`, `Router`, `Hooks`, `Reconciler` and what they use.
 *
 * @since 0.1.0
 */
import type { EventStore, Gateway, IdempotencyStore, LockManager, PaymentReadModel } from "@aegispay/core"
import { Ids } from "@aegispay/core"
import { Layer } from "effect"
import type { GatewayGuard } from "./GatewayGuard.js"
import * as Hooks from "./Hooks.js"
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
  | GatewayGuard

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
    readonly guard: Layer.Layer<GatewayGuard, E3, R3 | Gateway.GatewayRegistry>
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
