/**
 * The read side (CQRS): the `payments` view, updated in the same transaction as the events, and
 * the queries of DESIGN.md section 3.
 *
 * @since 0.1.0
 */
import { Context, Effect, Option, Schema } from "effect"
import { CustomerId, GatewayId, MerchantId, PaymentId } from "./Ids.js"
import * as Payment from "./Payment.js"
import type { PersistenceError } from "./PersistenceError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ListQuery {
  readonly customerId?: CustomerId | undefined
  readonly status?: Payment.PaymentStatus | undefined
  /** 1 to 100 */
  readonly limit: number
  /** Opaque: the `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Page {
  readonly data: ReadonlyArray<Payment.Payment>
  readonly nextCursor: Option.Option<string>
}

/**
 * @since 0.1.0
 * @category errors
 */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>("@aegispay/core/InvalidCursor")(
  "InvalidCursor",
  {}
) {
  override get message(): string {
    return "the cursor is not one this API returned"
  }
}

const Volume = Schema.Struct({ currency: Schema.String, amount: Schema.BigInt })

/**
 * Counts and volume over a date range, by status, currency and gateway; per-gateway success rate
 * and latency (from attempt start to outcome).
 *
 * @since 0.1.0
 * @category models
 */
export class Analytics extends Schema.Class<Analytics>("Analytics")({
  from: Schema.DateTimeUtc,
  to: Schema.DateTimeUtc,
  count: Schema.Int,
  byStatus: Schema.Array(
    Schema.Struct({ status: Payment.PaymentStatus, count: Schema.Int, volume: Schema.Array(Volume) })
  ),
  byCurrency: Schema.Array(
    Schema.Struct({
      currency: Schema.String,
      count: Schema.Int,
      volume: Schema.BigInt,
      captured: Schema.BigInt,
      refunded: Schema.BigInt
    })
  ),
  byGateway: Schema.Array(
    Schema.Struct({
      gateway: GatewayId,
      attempts: Schema.Int,
      succeeded: Schema.Int,
      failed: Schema.Int,
      unknown: Schema.Int,
      successRate: Schema.Number,
      latencyMs: Schema.Struct({
        avg: Schema.Number,
        p50: Schema.Number,
        p95: Schema.Number,
        p99: Schema.Number
      })
    })
  )
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly get: (
    merchantId: MerchantId,
    paymentId: PaymentId
  ) => Effect.Effect<Option.Option<Payment.Payment>, PersistenceError>
  readonly list: (
    merchantId: MerchantId,
    query: ListQuery
  ) => Effect.Effect<Page, PersistenceError | InvalidCursor>
  readonly analytics: (
    merchantId: MerchantId,
    range: { readonly from: Date; readonly to: Date }
  ) => Effect.Effect<Analytics, PersistenceError>
  /**
   * Payments the Reconciler must look at: the current attempt's outcome unknown or still pending, a
   * refund pending, or a capture or void reserved and not yet settled.
   */
  readonly awaitingReconciliation: (options: {
    readonly limit: number
    readonly updatedBefore: Date
  }) => Effect.Effect<ReadonlyArray<Payment.Payment>, PersistenceError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PaymentReadModel extends Context.Tag("@aegispay/core/PaymentReadModel")<
  PaymentReadModel,
  Service
>() {}
