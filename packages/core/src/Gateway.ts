/**
 * The Gateway port: what AegisPay needs from a PSP, and the registry of configured gateways.
 * Adapters live in `@aegispay/gateways`; every call carries our idempotency key so a retry of the
 * same attempt can never charge twice.
 *
 * @since 0.1.0
 */
import { Context, Effect, Option, Redacted, Schema } from "effect"
import { CardDetails } from "./Card.js"
import { Customer } from "./Customer.js"
import { FeeSchedule } from "./Fee.js"
import type { GatewayError } from "./GatewayError.js"
import { AttemptKey, GatewayId } from "./Ids.js"
import { MinorUnits, Money } from "./Money.js"
import { CaptureMethod, Metadata } from "./PaymentEvent.js"

/**
 * How the customer pays: card data (sent only to PSPs that accept it) or a PSP token.
 *
 * @since 0.1.0
 * @category models
 */
export type PaymentMethod =
  | { readonly _tag: "Card"; readonly card: CardDetails }
  | { readonly _tag: "Token"; readonly token: Redacted.Redacted<string> }

/**
 * @since 0.1.0
 * @category models
 */
export interface AuthorizeRequest {
  readonly idempotencyKey: AttemptKey
  readonly amount: Money
  readonly captureMethod: CaptureMethod
  readonly paymentMethod: PaymentMethod
  readonly customer: Customer
  readonly description?: string | undefined
  readonly metadata: typeof Metadata.Type
}

/**
 * The PSP's view of one of its payments.
 *
 * @since 0.1.0
 * @category models
 */
export const PspPaymentStatus = Schema.Literal("authorized", "captured", "voided", "failed", "pending")

/**
 * @since 0.1.0
 * @category models
 */
export class GatewayPayment extends Schema.Class<GatewayPayment>("GatewayPayment")({
  gatewayReference: Schema.String,
  status: PspPaymentStatus,
  amountAuthorized: MinorUnits,
  amountCaptured: MinorUnits,
  amountRefunded: MinorUnits,
  pspRequestId: Schema.optional(Schema.String)
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export class GatewayRefund extends Schema.Class<GatewayRefund>("GatewayRefund")({
  gatewayReference: Schema.String,
  amount: MinorUnits,
  status: Schema.Literal("succeeded", "pending"),
  pspRequestId: Schema.optional(Schema.String)
}) {}

/**
 * What a status lookup by attempt key found.
 *
 * @since 0.1.0
 * @category models
 */
export type AttemptLookup =
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Found"; readonly payment: GatewayPayment }
  | { readonly _tag: "Declined"; readonly error: GatewayError }

/**
 * @since 0.1.0
 * @category models
 */
export interface GatewayHealth {
  readonly reachable: boolean
  readonly latencyMillis: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Gateway {
  readonly id: GatewayId
  readonly type: string
  readonly fees: Option.Option<FeeSchedule>
  readonly authorize: (request: AuthorizeRequest) => Effect.Effect<GatewayPayment, GatewayError>
  readonly capture: (request: {
    readonly gatewayReference: string
    readonly amount: Money
    readonly idempotencyKey: string
  }) => Effect.Effect<GatewayPayment, GatewayError>
  readonly void: (request: {
    readonly gatewayReference: string
    readonly idempotencyKey: string
  }) => Effect.Effect<GatewayPayment, GatewayError>
  readonly refund: (request: {
    readonly gatewayReference: string
    readonly amount: Money
    readonly idempotencyKey: string
    readonly reason?: string | undefined
  }) => Effect.Effect<GatewayRefund, GatewayError>
  /** Finds the PSP payment created by the attempt with this key (for reconciliation). */
  readonly status: (idempotencyKey: AttemptKey) => Effect.Effect<AttemptLookup, GatewayError>
  readonly health: Effect.Effect<GatewayHealth, GatewayError>
}

/**
 * @since 0.1.0
 * @category errors
 */
export class GatewayNotFound extends Schema.TaggedError<GatewayNotFound>("@aegispay/core/GatewayNotFound")(
  "GatewayNotFound",
  { gateway: Schema.String }
) {
  override get message(): string {
    return `no gateway is registered as "${this.gateway}"`
  }
}

/**
 * The configured gateways (several accounts of one PSP type may be registered, each with its id).
 *
 * @since 0.1.0
 * @category tags
 */
export class GatewayRegistry extends Context.Tag("@aegispay/core/GatewayRegistry")<
  GatewayRegistry,
  {
    readonly all: Effect.Effect<ReadonlyArray<Gateway>>
    readonly get: (id: GatewayId) => Effect.Effect<Gateway, GatewayNotFound>
  }
>() {}

/**
 * A registry over a fixed list of gateways.
 *
 * @since 0.1.0
 * @category constructors
 */
export const registryFrom = (gateways: ReadonlyArray<Gateway>): GatewayRegistry["Type"] => {
  const byId = new Map(gateways.map((g) => [g.id as string, g]))
  return GatewayRegistry.of({
    all: Effect.succeed(gateways),
    get: (id) => {
      const g = byId.get(id)
      return g === undefined ? Effect.fail(new GatewayNotFound({ gateway: id })) : Effect.succeed(g)
    }
  })
}
