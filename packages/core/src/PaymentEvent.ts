/**
 * The events of a payment's stream: the audit trail and the only source of its state.
 * Each is a `Schema.TaggedClass`, so it encodes to JSON for the event store and the outbox.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { CardSummary } from "./Card.js"
import { Customer } from "./Customer.js"
import { Failure } from "./Failure.js"
import { AttemptKey, GatewayId, MerchantId, PaymentId, RefundId } from "./Ids.js"
import { MinorUnits, Money } from "./Money.js"
import { RiskAssessment } from "./Risk.js"
import { RoutingDecision } from "./Routing.js"

/**
 * @since 0.1.0
 * @category models
 */
export const CaptureMethod = Schema.Literal("automatic", "manual")

/**
 * @since 0.1.0
 * @category models
 */
export type CaptureMethod = typeof CaptureMethod.Type

/**
 * @since 0.1.0
 * @category models
 */
export const Metadata = Schema.Record({
  key: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(40)),
  value: Schema.String.pipe(Schema.maxLength(500))
})

/**
 * What a payment is created with: the fields of `CreatePayment` and `PaymentInitiated`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const creation = {
  paymentId: PaymentId,
  merchantId: MerchantId,
  amount: Money,
  captureMethod: CaptureMethod,
  customer: Customer,
  card: CardSummary,
  description: Schema.optional(Schema.String),
  metadata: Metadata
}

const at = { at: Schema.DateTimeUtc }
const AttemptNumber = Schema.Int.pipe(Schema.positive())

/**
 * @since 0.1.0
 * @category events
 */
export class PaymentInitiated extends Schema.TaggedClass<PaymentInitiated>()("PaymentInitiated", {
  ...creation,
  ...at
}) {}

/**
 * @since 0.1.0
 * @category events
 */
export class PaymentAuthenticated extends Schema.TaggedClass<PaymentAuthenticated>()("PaymentAuthenticated", {
  risk: Schema.optional(RiskAssessment),
  ...at
}) {}

/**
 * Blocked before any gateway was called (fraud or validation).
 *
 * @since 0.1.0
 * @category events
 */
export class PaymentBlocked extends Schema.TaggedClass<PaymentBlocked>()("PaymentBlocked", {
  failure: Failure,
  risk: Schema.optional(RiskAssessment),
  ...at
}) {}

/**
 * Cancelled before any gateway was called.
 *
 * @since 0.1.0
 * @category events
 */
export class PaymentCancelled extends Schema.TaggedClass<PaymentCancelled>()("PaymentCancelled", {
  reason: Schema.optional(Schema.String),
  ...at
}) {}

/**
 * A gateway attempt begins; `idempotencyKey` is what the PSP receives for it.
 *
 * @since 0.1.0
 * @category events
 */
export class AttemptStarted extends Schema.TaggedClass<AttemptStarted>()("AttemptStarted", {
  attempt: AttemptNumber,
  gateway: GatewayId,
  idempotencyKey: AttemptKey,
  routing: Schema.optional(RoutingDecision),
  ...at
}) {}

/**
 * The attempt failed definitely: the PSP did not charge.
 *
 * @since 0.1.0
 * @category events
 */
export class AttemptFailed extends Schema.TaggedClass<AttemptFailed>()("AttemptFailed", {
  attempt: AttemptNumber,
  gateway: GatewayId,
  failure: Failure,
  ...at
}) {}

/**
 * The attempt's outcome is unknown (timeout, lost response): the payment waits for reconciliation.
 *
 * @since 0.1.0
 * @category events
 */
export class AttemptOutcomeUnknown extends Schema.TaggedClass<AttemptOutcomeUnknown>()(
  "AttemptOutcomeUnknown",
  {
    attempt: AttemptNumber,
    gateway: GatewayId,
    reason: Schema.String,
    ...at
  }
) {}

/**
 * The PSP authorized the amount; it waits for a capture (manual capture).
 *
 * @since 0.1.0
 * @category events
 */
export class PaymentAuthorized extends Schema.TaggedClass<PaymentAuthorized>()("PaymentAuthorized", {
  attempt: AttemptNumber,
  gateway: GatewayId,
  gatewayReference: Schema.String,
  amount: MinorUnits,
  ...at
}) {}

/**
 * Money was captured: by an automatic-capture attempt, or by a capture of an authorization.
 *
 * @since 0.1.0
 * @category events
 */
export class PaymentCaptured extends Schema.TaggedClass<PaymentCaptured>()("PaymentCaptured", {
  attempt: AttemptNumber,
  gateway: GatewayId,
  gatewayReference: Schema.String,
  amount: MinorUnits,
  ...at
}) {}

/**
 * @since 0.1.0
 * @category events
 */
export class PaymentFailed extends Schema.TaggedClass<PaymentFailed>()("PaymentFailed", {
  failure: Failure,
  ...at
}) {}

/**
 * An authorization was released without capture.
 *
 * @since 0.1.0
 * @category events
 */
export class PaymentVoided extends Schema.TaggedClass<PaymentVoided>()("PaymentVoided", {
  reason: Schema.optional(Schema.String),
  ...at
}) {}

/**
 * A capture of an authorization is reserved before the PSP is asked, so a crash or an outage after
 * the PSP captured leaves a pending capture that the Reconciler completes with the same PSP key.
 *
 * @since 0.1.0
 * @category events
 */
export class CaptureRequested extends Schema.TaggedClass<CaptureRequested>()("CaptureRequested", {
  amount: MinorUnits,
  ...at
}) {}

/**
 * The PSP refused the pending capture (or it was never sent): the authorization can be captured again.
 *
 * @since 0.1.0
 * @category events
 */
export class CaptureFailed extends Schema.TaggedClass<CaptureFailed>()("CaptureFailed", {
  amount: MinorUnits,
  failure: Failure,
  ...at
}) {}

/**
 * A void of an authorization is reserved before the PSP is asked (see `CaptureRequested`).
 *
 * @since 0.1.0
 * @category events
 */
export class VoidRequested extends Schema.TaggedClass<VoidRequested>()("VoidRequested", {
  reason: Schema.optional(Schema.String),
  ...at
}) {}

/**
 * The PSP refused the pending void (or it was never sent): the authorization stands.
 *
 * @since 0.1.0
 * @category events
 */
export class VoidFailed extends Schema.TaggedClass<VoidFailed>()("VoidFailed", {
  failure: Failure,
  ...at
}) {}

/**
 * A refund is reserved against the refundable amount before the PSP is asked, so concurrent refunds
 * can never exceed what was captured.
 *
 * @since 0.1.0
 * @category events
 */
export class RefundRequested extends Schema.TaggedClass<RefundRequested>()("RefundRequested", {
  refundId: RefundId,
  amount: MinorUnits,
  reason: Schema.optional(Schema.String),
  ...at
}) {}

/**
 * @since 0.1.0
 * @category events
 */
export class RefundSucceeded extends Schema.TaggedClass<RefundSucceeded>()("RefundSucceeded", {
  refundId: RefundId,
  amount: MinorUnits,
  gatewayReference: Schema.optional(Schema.String),
  ...at
}) {}

/**
 * @since 0.1.0
 * @category events
 */
export class RefundFailed extends Schema.TaggedClass<RefundFailed>()("RefundFailed", {
  refundId: RefundId,
  amount: MinorUnits,
  failure: Failure,
  ...at
}) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const PaymentEvent = Schema.Union(
  PaymentInitiated,
  PaymentAuthenticated,
  PaymentBlocked,
  PaymentCancelled,
  AttemptStarted,
  AttemptFailed,
  AttemptOutcomeUnknown,
  PaymentAuthorized,
  PaymentCaptured,
  PaymentFailed,
  PaymentVoided,
  CaptureRequested,
  CaptureFailed,
  VoidRequested,
  VoidFailed,
  RefundRequested,
  RefundSucceeded,
  RefundFailed
)

/**
 * @since 0.1.0
 * @category models
 */
export type PaymentEvent = typeof PaymentEvent.Type

/**
 * @since 0.1.0
 * @category models
 */
export type EventType = PaymentEvent["_tag"]
