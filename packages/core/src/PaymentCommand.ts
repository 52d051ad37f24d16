/**
 * The commands a payment accepts. `at` is the time the command is decided at, so `decide` stays pure.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Failure } from "./Failure.js"
import { GatewayId, RefundId } from "./Ids.js"
import { MinorUnits } from "./Money.js"
import { creation } from "./PaymentEvent.js"
import { RiskAssessment } from "./Risk.js"
import { RoutingDecision } from "./Routing.js"

const at = { at: Schema.DateTimeUtc }
const AttemptNumber = Schema.Int.pipe(Schema.positive())

/**
 * @since 0.1.0
 * @category commands
 */
export class CreatePayment extends Schema.TaggedClass<CreatePayment>()("CreatePayment", {
  ...creation,
  ...at
}) {}

/**
 * Card checks and fraud hooks passed.
 *
 * @since 0.1.0
 * @category commands
 */
export class AuthenticatePayment extends Schema.TaggedClass<AuthenticatePayment>()("AuthenticatePayment", {
  risk: Schema.optional(RiskAssessment),
  ...at
}) {}

/**
 * @since 0.1.0
 * @category commands
 */
export class BlockPayment extends Schema.TaggedClass<BlockPayment>()("BlockPayment", {
  failure: Failure,
  risk: Schema.optional(RiskAssessment),
  ...at
}) {}

/**
 * Cancel before a gateway is called, or reserve a void of an authorization (`requires_capture`):
 * the PSP is asked after `VoidRequested` is recorded, and its answer is recorded with `CompleteVoid`
 * or `FailVoid`.
 *
 * @since 0.1.0
 * @category commands
 */
export class CancelPayment extends Schema.TaggedClass<CancelPayment>()("CancelPayment", {
  reason: Schema.optional(Schema.String),
  ...at
}) {}

/**
 * @since 0.1.0
 * @category commands
 */
export class StartAttempt extends Schema.TaggedClass<StartAttempt>()("StartAttempt", {
  gateway: GatewayId,
  routing: Schema.optional(RoutingDecision),
  ...at
}) {}

/**
 * Record a definite failure of the current attempt (the PSP did not charge).
 *
 * @since 0.1.0
 * @category commands
 */
export class FailAttempt extends Schema.TaggedClass<FailAttempt>()("FailAttempt", {
  attempt: AttemptNumber,
  failure: Failure,
  ...at
}) {}

/**
 * @since 0.1.0
 * @category commands
 */
export class MarkAttemptOutcomeUnknown extends Schema.TaggedClass<MarkAttemptOutcomeUnknown>()(
  "MarkAttemptOutcomeUnknown",
  { attempt: AttemptNumber, reason: Schema.String, ...at }
) {}

/**
 * The PSP accepted the current attempt: authorized (manual capture) or charged (automatic).
 *
 * @since 0.1.0
 * @category commands
 */
export class CompleteAttempt extends Schema.TaggedClass<CompleteAttempt>()("CompleteAttempt", {
  attempt: AttemptNumber,
  gatewayReference: Schema.String,
  ...at
}) {}

/**
 * @since 0.1.0
 * @category commands
 */
export class FailPayment extends Schema.TaggedClass<FailPayment>()("FailPayment", {
  failure: Failure,
  ...at
}) {}

/**
 * Reserve a capture of an authorization, in full (no amount) or in part: the PSP is asked after
 * `CaptureRequested` is recorded, and its answer is recorded with `CompleteCapture` or `FailCapture`.
 *
 * @since 0.1.0
 * @category commands
 */
export class CapturePayment extends Schema.TaggedClass<CapturePayment>()("CapturePayment", {
  amount: Schema.optional(MinorUnits),
  ...at
}) {}

/**
 * The PSP captured the pending capture.
 *
 * @since 0.1.0
 * @category commands
 */
export class CompleteCapture extends Schema.TaggedClass<CompleteCapture>()("CompleteCapture", {
  ...at
}) {}

/**
 * The PSP refused the pending capture, or it was never sent.
 *
 * @since 0.1.0
 * @category commands
 */
export class FailCapture extends Schema.TaggedClass<FailCapture>()("FailCapture", {
  failure: Failure,
  ...at
}) {}

/**
 * The PSP voided the authorization.
 *
 * @since 0.1.0
 * @category commands
 */
export class CompleteVoid extends Schema.TaggedClass<CompleteVoid>()("CompleteVoid", {
  ...at
}) {}

/**
 * The PSP refused the pending void, or it was never sent.
 *
 * @since 0.1.0
 * @category commands
 */
export class FailVoid extends Schema.TaggedClass<FailVoid>()("FailVoid", {
  failure: Failure,
  ...at
}) {}

/**
 * Reserve a refund of `amount` (default: everything still refundable).
 *
 * @since 0.1.0
 * @category commands
 */
export class RequestRefund extends Schema.TaggedClass<RequestRefund>()("RequestRefund", {
  refundId: RefundId,
  amount: Schema.optional(MinorUnits),
  reason: Schema.optional(Schema.String),
  ...at
}) {}

/**
 * @since 0.1.0
 * @category commands
 */
export class CompleteRefund extends Schema.TaggedClass<CompleteRefund>()("CompleteRefund", {
  refundId: RefundId,
  gatewayReference: Schema.optional(Schema.String),
  ...at
}) {}

/**
 * @since 0.1.0
 * @category commands
 */
export class FailRefund extends Schema.TaggedClass<FailRefund>()("FailRefund", {
  refundId: RefundId,
  failure: Failure,
  ...at
}) {}

/**
 * @since 0.1.0
 * @category schemas
 */
export const PaymentCommand = Schema.Union(
  CreatePayment,
  AuthenticatePayment,
  BlockPayment,
  CancelPayment,
  StartAttempt,
  FailAttempt,
  MarkAttemptOutcomeUnknown,
  CompleteAttempt,
  FailPayment,
  CapturePayment,
  CompleteCapture,
  FailCapture,
  CompleteVoid,
  FailVoid,
  RequestRefund,
  CompleteRefund,
  FailRefund
)

/**
 * @since 0.1.0
 * @category models
 */
export type PaymentCommand = typeof PaymentCommand.Type
