/**
 * The Payment aggregate, event sourced: `decide(state, command)` returns the new events or a typed
 * error, `evolve(state, event)` applies one event, and a payment's state is always the fold of its
 * events from `initial`. Both are pure: time comes in on the command (`at`).
 *
 * The transition table is one constant (`transitions`); the type of `decide` is derived from it, so
 * a command that is invalid for a statically known status is a compile error, and `decide` checks
 * the same table at run time.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import { CardSummary } from "./Card.js"
import { Customer } from "./Customer.js"
import { allowsFailover, Failure } from "./Failure.js"
import { AttemptKey, attemptKey, GatewayId, MerchantId, PaymentId, RefundId } from "./Ids.js"
import { MinorUnits, Money } from "./Money.js"
import type * as Command from "./PaymentCommand.js"
import { InvalidAmount, InvalidTransition } from "./PaymentError.js"
import * as Event from "./PaymentEvent.js"
import { RiskAssessment } from "./Risk.js"
import { RoutingDecision } from "./Routing.js"

/**
 * The statuses of DESIGN.md section 2 (also the API's).
 *
 * @since 0.1.0
 * @category models
 */
export const PaymentStatus = Schema.Literal(
  "initiated",
  "authenticated",
  "processing",
  "requires_capture",
  "succeeded",
  "partially_refunded",
  "refunded",
  "failed",
  "cancelled"
)

/**
 * @since 0.1.0
 * @category models
 */
export type PaymentStatus = typeof PaymentStatus.Type

/**
 * @since 0.1.0
 * @category models
 */
export const AttemptStatus = Schema.Literal("pending", "succeeded", "failed", "unknown")

/**
 * One call (with its retries) to one gateway.
 *
 * @since 0.1.0
 * @category models
 */
export const Attempt = Schema.Struct({
  number: Schema.Int,
  gateway: GatewayId,
  idempotencyKey: AttemptKey,
  status: AttemptStatus,
  gatewayReference: Schema.optional(Schema.String),
  failure: Schema.optional(Failure),
  unknownReason: Schema.optional(Schema.String),
  routing: Schema.optional(RoutingDecision),
  startedAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 * @category models
 */
export type Attempt = typeof Attempt.Type

/**
 * @since 0.1.0
 * @category models
 */
export const Refund = Schema.Struct({
  id: RefundId,
  amount: MinorUnits,
  status: Schema.Literal("pending", "succeeded", "failed"),
  reason: Schema.optional(Schema.String),
  gatewayReference: Schema.optional(Schema.String),
  failure: Schema.optional(Failure),
  requestedAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 * @category models
 */
export type Refund = typeof Refund.Type

/**
 * A capture reserved by `CaptureRequested` whose PSP answer is not recorded yet.
 *
 * @since 0.1.0
 * @category models
 */
export const PendingCapture = Schema.TaggedStruct("Capture", {
  amount: MinorUnits,
  requestedAt: Schema.DateTimeUtc
})

/**
 * A void reserved by `VoidRequested` whose PSP answer is not recorded yet.
 *
 * @since 0.1.0
 * @category models
 */
export const PendingVoid = Schema.TaggedStruct("Void", {
  reason: Schema.optional(Schema.String),
  requestedAt: Schema.DateTimeUtc
})

/**
 * The capture or void of an authorization that the PSP was (or is about to be) asked for.
 *
 * @since 0.1.0
 * @category models
 */
export const PendingOperation = Schema.Union(PendingCapture, PendingVoid)

/**
 * @since 0.1.0
 * @category models
 */
export type PendingOperation = typeof PendingOperation.Type

/**
 * The state of an existing payment.
 *
 * @since 0.1.0
 * @category models
 */
export const Payment = Schema.Struct({
  id: PaymentId,
  merchantId: MerchantId,
  status: PaymentStatus,
  amount: Money,
  amountAuthorized: MinorUnits,
  amountCaptured: MinorUnits,
  amountRefunded: MinorUnits,
  amountRefundPending: MinorUnits,
  captureMethod: Event.CaptureMethod,
  customer: Customer,
  card: CardSummary,
  description: Schema.optional(Schema.String),
  metadata: Event.Metadata,
  gateway: Schema.optional(GatewayId),
  gatewayReference: Schema.optional(Schema.String),
  attempts: Schema.Array(Attempt),
  refunds: Schema.Array(Refund),
  /** A capture or void of the authorization waiting for the PSP's answer (status `requires_capture`). */
  pendingOperation: Schema.optional(PendingOperation),
  failure: Schema.optional(Failure),
  risk: Schema.optional(RiskAssessment),
  needsReconciliation: Schema.Boolean,
  version: Schema.Int,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 * @category models
 */
export type Payment = typeof Payment.Type

/**
 * A payment whose status is known statically.
 *
 * @since 0.1.0
 * @category models
 */
export type PaymentIn<S extends PaymentStatus> = Payment & { readonly status: S }

/**
 * An authorization whose capture is reserved and waits for the PSP's answer.
 *
 * @since 0.1.0
 * @category models
 */
export type PaymentCapturePending = PaymentIn<"requires_capture"> & {
  readonly pendingOperation: typeof PendingCapture.Type
}

/**
 * An authorization whose void is reserved and waits for the PSP's answer.
 *
 * @since 0.1.0
 * @category models
 */
export type PaymentVoidPending = PaymentIn<"requires_capture"> & {
  readonly pendingOperation: typeof PendingVoid.Type
}

/**
 * The state before the first event.
 *
 * @since 0.1.0
 * @category models
 */
export interface NoPayment {
  readonly status: "none"
  readonly version: 0
}

/**
 * @since 0.1.0
 * @category models
 */
export type State = NoPayment | Payment

/**
 * @since 0.1.0
 * @category constructors
 */
export const initial: NoPayment = { status: "none", version: 0 }

/**
 * Where a payment is in its state machine: its status, except that an authorization
 * (`requires_capture`) with a capture or a void waiting for the PSP's answer is `capture_pending`
 * or `void_pending` (its public status stays `requires_capture`).
 *
 * @since 0.1.0
 * @category models
 */
export type Phase = State["status"] | "capture_pending" | "void_pending"

/**
 * @since 0.1.0
 * @category getters
 */
export const phase = (state: State): Phase =>
  exists(state) && state.pendingOperation !== undefined
    ? state.pendingOperation._tag === "Capture"
      ? "capture_pending"
      : "void_pending"
    : state.status

/**
 * Which commands each phase accepts. Terminal statuses (`failed`, `cancelled`, `refunded`) accept
 * none; `succeeded` and `partially_refunded` accept only refunds; a pending capture or void accepts
 * only the PSP's answer to it.
 *
 * @since 0.1.0
 * @category transitions
 */
export const transitions = {
  none: ["CreatePayment"],
  initiated: ["AuthenticatePayment", "BlockPayment", "CancelPayment"],
  authenticated: ["BlockPayment", "CancelPayment", "StartAttempt"],
  processing: ["StartAttempt", "FailAttempt", "MarkAttemptOutcomeUnknown", "CompleteAttempt", "FailPayment"],
  requires_capture: ["CapturePayment", "CancelPayment"],
  capture_pending: ["CompleteCapture", "FailCapture"],
  void_pending: ["CompleteVoid", "FailVoid"],
  succeeded: ["RequestRefund", "CompleteRefund", "FailRefund"],
  partially_refunded: ["RequestRefund", "CompleteRefund", "FailRefund"],
  refunded: [],
  failed: [],
  cancelled: []
} as const satisfies Record<Phase, ReadonlyArray<Command.PaymentCommand["_tag"]>>

/**
 * The phases a state may be in, as a type: a statically known pending operation gives its phase; an
 * authorization that may have one gives all three.
 *
 * @since 0.1.0
 * @category transitions
 */
export type PhaseOf<S extends State> = S extends { readonly status: infer St extends State["status"] }
  ? S extends { readonly pendingOperation: { readonly _tag: infer T } }
    ? T extends "Capture"
      ? "capture_pending"
      : "void_pending"
    : St | ("requires_capture" extends St ? "capture_pending" | "void_pending" : never)
  : never

/**
 * The commands a state accepts, as a type: for a statically known status (and pending operation)
 * only its commands, for the `State` union every command (then `decide` checks at run time).
 *
 * @since 0.1.0
 * @category transitions
 */
export type CommandFor<S extends State> = Extract<
  Command.PaymentCommand,
  { readonly _tag: AcceptedIn<PhaseOf<S>> }
>

/** The tags a phase accepts (distributed over a union of phases). */
type AcceptedIn<P extends Phase> = P extends Phase ? (typeof transitions)[P][number] : never

/**
 * Statuses that only refunds may leave (`succeeded`, `partially_refunded`) or nothing may leave.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTerminal = (status: State["status"]): boolean =>
  status === "succeeded" ||
  status === "partially_refunded" ||
  status === "refunded" ||
  status === "failed" ||
  status === "cancelled"

/**
 * @since 0.1.0
 * @category guards
 */
export const isStatus = <S extends PaymentStatus>(state: State, status: S): state is PaymentIn<S> =>
  state.status === status

/**
 * @since 0.1.0
 * @category guards
 */
export const exists = (state: State): state is Payment => state.status !== "none"

/**
 * @since 0.1.0
 * @category guards
 */
export const isCapturePending = (state: State): state is PaymentCapturePending =>
  exists(state) && state.status === "requires_capture" && state.pendingOperation?._tag === "Capture"

/**
 * @since 0.1.0
 * @category guards
 */
export const isVoidPending = (state: State): state is PaymentVoidPending =>
  exists(state) && state.status === "requires_capture" && state.pendingOperation?._tag === "Void"

/**
 * The PSP idempotency key of a payment's capture: every capture request of the payment, and its
 * re-sends by the Reconciler, carry it.
 *
 * @since 0.1.0
 * @category getters
 */
export const captureKey = (id: PaymentId): string => `${id}:capture`

/**
 * The PSP idempotency key of a payment's void.
 *
 * @since 0.1.0
 * @category getters
 */
export const voidKey = (id: PaymentId): string => `${id}:void`

/**
 * What can still be refunded: captured, less refunded and refunds in flight.
 *
 * @since 0.1.0
 * @category getters
 */
export const refundable = (p: Payment): bigint => p.amountCaptured - p.amountRefunded - p.amountRefundPending

/**
 * The latest attempt, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const currentAttempt = (p: Payment): Attempt | undefined => p.attempts[p.attempts.length - 1]

type Events = Either.Either<ReadonlyArray<Event.PaymentEvent>, InvalidTransition | InvalidAmount>

const invalid = (state: State, command: Command.PaymentCommand, reason: string): Events =>
  Either.left(
    new InvalidTransition({
      ...(exists(state) ? { paymentId: state.id } : {}),
      from: state.status,
      command: command._tag,
      reason
    })
  )

const badAmount = (p: Payment, requested: bigint, limit: bigint, reason: InvalidAmount["reason"]): Events =>
  Either.left(new InvalidAmount({ paymentId: p.id, requested, limit, reason }))

const ok = (...events: ReadonlyArray<Event.PaymentEvent>): Events => Either.right(events)

const decideAttempt = (
  p: Payment,
  command: Command.FailAttempt | Command.MarkAttemptOutcomeUnknown | Command.CompleteAttempt,
  accepted: ReadonlyArray<Attempt["status"]>
): Either.Either<Attempt, InvalidTransition> => {
  const current = currentAttempt(p)
  if (current === undefined || current.number !== command.attempt) {
    return Either.left(
      new InvalidTransition({
        paymentId: p.id,
        from: p.status,
        command: command._tag,
        reason: `attempt ${command.attempt} is not the current attempt (${current?.number ?? "none"})`
      })
    )
  }
  if (!accepted.includes(current.status)) {
    return Either.left(
      new InvalidTransition({
        paymentId: p.id,
        from: p.status,
        command: command._tag,
        reason: `attempt ${current.number} is already ${current.status}`
      })
    )
  }
  return Either.right(current)
}

const decideExisting = (p: Payment, command: Command.PaymentCommand): Events => {
  switch (command._tag) {
    case "CreatePayment":
      return invalid(p, command, "the payment already exists")
    case "AuthenticatePayment":
      return ok(
        new Event.PaymentAuthenticated(
          { ...(command.risk ? { risk: command.risk } : {}), at: command.at },
          true
        )
      )
    case "BlockPayment":
      return ok(
        new Event.PaymentBlocked(
          {
            failure: command.failure,
            ...(command.risk ? { risk: command.risk } : {}),
            at: command.at
          },
          true
        )
      )
    case "CancelPayment": {
      const reason = command.reason !== undefined ? { reason: command.reason } : {}
      return p.status === "requires_capture"
        ? ok(new Event.VoidRequested({ ...reason, at: command.at }, true))
        : ok(new Event.PaymentCancelled({ ...reason, at: command.at }, true))
    }
    case "StartAttempt": {
      const current = currentAttempt(p)
      if (current !== undefined) {
        if (current.status !== "failed") {
          return invalid(
            p,
            command,
            `attempt ${current.number} is ${current.status}: only a definite failure may fail over`
          )
        }
        if (current.failure !== undefined && !allowsFailover(current.failure.category)) {
          return invalid(
            p,
            command,
            `attempt ${current.number} failed with ${current.failure.category}, which is final`
          )
        }
      }
      const attempt = p.attempts.length + 1
      return ok(
        new Event.AttemptStarted(
          {
            attempt,
            gateway: command.gateway,
            idempotencyKey: attemptKey(p.id, attempt),
            ...(command.routing ? { routing: command.routing } : {}),
            at: command.at
          },
          true
        )
      )
    }
    case "FailAttempt": {
      if (command.failure.category === "unknown_outcome") {
        return invalid(
          p,
          command,
          "an unknown outcome is not a failure: mark it with MarkAttemptOutcomeUnknown"
        )
      }
      return Either.flatMap(decideAttempt(p, command, ["pending", "unknown"]), (attempt) =>
        ok(
          new Event.AttemptFailed(
            {
              attempt: attempt.number,
              gateway: attempt.gateway,
              failure: command.failure,
              at: command.at
            },
            true
          )
        )
      )
    }
    case "MarkAttemptOutcomeUnknown":
      return Either.flatMap(decideAttempt(p, command, ["pending"]), (attempt) =>
        ok(
          new Event.AttemptOutcomeUnknown(
            {
              attempt: attempt.number,
              gateway: attempt.gateway,
              reason: command.reason,
              at: command.at
            },
            true
          )
        )
      )
    case "CompleteAttempt":
      return Either.flatMap(decideAttempt(p, command, ["pending", "unknown"]), (attempt) => {
        const fields = {
          attempt: attempt.number,
          gateway: attempt.gateway,
          gatewayReference: command.gatewayReference,
          amount: p.amount.amount,
          at: command.at
        }
        return p.captureMethod === "manual"
          ? ok(new Event.PaymentAuthorized(fields, true))
          : ok(new Event.PaymentCaptured(fields, true))
      })
    case "FailPayment": {
      const current = currentAttempt(p)
      if (current !== undefined && (current.status === "pending" || current.status === "unknown")) {
        return invalid(
          p,
          command,
          `attempt ${current.number} is ${current.status}: its outcome must be known before the payment fails`
        )
      }
      return ok(new Event.PaymentFailed({ failure: command.failure, at: command.at }, true))
    }
    case "CapturePayment": {
      const amount = command.amount ?? p.amountAuthorized
      if (amount <= 0n) return badAmount(p, amount, p.amountAuthorized, "NotPositive")
      if (amount > p.amountAuthorized) return badAmount(p, amount, p.amountAuthorized, "ExceedsAuthorized")
      return ok(new Event.CaptureRequested({ amount, at: command.at }, true))
    }
    case "CompleteCapture":
    case "FailCapture": {
      const pending = p.pendingOperation
      if (pending?._tag !== "Capture") return invalid(p, command, "no capture is pending")
      if (command._tag === "FailCapture") {
        return ok(
          new Event.CaptureFailed({ amount: pending.amount, failure: command.failure, at: command.at }, true)
        )
      }
      const attempt = currentAttempt(p)
      return ok(
        new Event.PaymentCaptured(
          {
            attempt: attempt?.number ?? 1,
            gateway: attempt?.gateway ?? p.gateway ?? ("unknown" as GatewayId),
            gatewayReference: p.gatewayReference ?? attempt?.gatewayReference ?? "",
            amount: pending.amount,
            at: command.at
          },
          true
        )
      )
    }
    case "CompleteVoid":
    case "FailVoid": {
      const pending = p.pendingOperation
      if (pending?._tag !== "Void") return invalid(p, command, "no void is pending")
      return command._tag === "FailVoid"
        ? ok(new Event.VoidFailed({ failure: command.failure, at: command.at }, true))
        : ok(
            new Event.PaymentVoided(
              {
                ...(pending.reason !== undefined ? { reason: pending.reason } : {}),
                at: command.at
              },
              true
            )
          )
    }
    case "RequestRefund": {
      const limit = refundable(p)
      if (p.refunds.some((r) => r.id === command.refundId)) {
        return invalid(p, command, `refund ${command.refundId} already exists`)
      }
      if (limit <= 0n) return badAmount(p, command.amount ?? 0n, limit, "NothingToRefund")
      const amount = command.amount ?? limit
      if (amount <= 0n) return badAmount(p, amount, limit, "NotPositive")
      if (amount > limit) return badAmount(p, amount, limit, "ExceedsRefundable")
      return ok(
        new Event.RefundRequested(
          {
            refundId: command.refundId,
            amount,
            ...(command.reason !== undefined ? { reason: command.reason } : {}),
            at: command.at
          },
          true
        )
      )
    }
    case "CompleteRefund":
    case "FailRefund": {
      const refund = p.refunds.find((r) => r.id === command.refundId)
      if (refund === undefined) return invalid(p, command, `refund ${command.refundId} does not exist`)
      if (refund.status !== "pending")
        return invalid(p, command, `refund ${refund.id} is already ${refund.status}`)
      return command._tag === "CompleteRefund"
        ? ok(
            new Event.RefundSucceeded(
              {
                refundId: refund.id,
                amount: refund.amount,
                ...(command.gatewayReference !== undefined
                  ? { gatewayReference: command.gatewayReference }
                  : {}),
                at: command.at
              },
              true
            )
          )
        : ok(
            new Event.RefundFailed(
              {
                refundId: refund.id,
                amount: refund.amount,
                failure: command.failure,
                at: command.at
              },
              true
            )
          )
    }
  }
}

/**
 * Decides what happens when `command` meets `state`: the events to append, or why not.
 * Never throws; an invalid command is an `InvalidTransition` or `InvalidAmount`.
 *
 * @since 0.1.0
 * @category transitions
 */
export const decide = <S extends State>(state: S, command: CommandFor<S>): Events => {
  const cmd = command as Command.PaymentCommand
  const current = phase(state)
  const allowed: ReadonlyArray<string> = transitions[current]
  if (!allowed.includes(cmd._tag)) {
    return invalid(
      state,
      cmd,
      allowed.length === 0
        ? `"${state.status}" is final`
        : current === "capture_pending" || current === "void_pending"
          ? `a ${current === "capture_pending" ? "capture" : "void"} is pending at the PSP; only its outcome (${allowed.join(", ")}) is accepted until it is known`
          : `"${state.status}" accepts only ${allowed.join(", ")}`
    )
  }
  if (!exists(state)) {
    const create = cmd as Command.CreatePayment
    if (create.amount.amount <= 0n) {
      return Either.left(
        new InvalidAmount({
          paymentId: create.paymentId,
          requested: create.amount.amount,
          limit: 0n,
          reason: "NotPositive"
        })
      )
    }
    return ok(
      new Event.PaymentInitiated(
        {
          paymentId: create.paymentId,
          merchantId: create.merchantId,
          amount: create.amount,
          captureMethod: create.captureMethod,
          customer: create.customer,
          card: create.card,
          ...(create.description !== undefined ? { description: create.description } : {}),
          metadata: create.metadata,
          at: create.at
        },
        true
      )
    )
  }
  return decideExisting(state, cmd)
}

const updateLast = <A>(items: ReadonlyArray<A>, f: (a: A) => A): ReadonlyArray<A> =>
  items.length === 0 ? items : [...items.slice(0, -1), f(items[items.length - 1] as A)]

const updateRefund = (p: Payment, id: RefundId, f: (r: Refund) => Refund): ReadonlyArray<Refund> =>
  p.refunds.map((r) => (r.id === id ? f(r) : r))

/** The payment without its pending capture or void. */
const settled = (p: Payment): Payment => {
  if (p.pendingOperation === undefined) return p
  const { pendingOperation: _settled, ...rest } = p
  return rest
}

const evolvePayment = (p: Payment, event: Event.PaymentEvent): Payment => {
  const base = { ...p, version: p.version + 1, updatedAt: event.at }
  switch (event._tag) {
    case "PaymentInitiated":
      return p
    case "PaymentAuthenticated":
      return { ...base, status: "authenticated", ...(event.risk ? { risk: event.risk } : {}) }
    case "PaymentBlocked":
      return {
        ...base,
        status: "failed",
        failure: event.failure,
        ...(event.risk ? { risk: event.risk } : {})
      }
    case "PaymentCancelled":
    case "PaymentVoided":
      return { ...settled(base), status: "cancelled" }
    case "CaptureRequested":
      return { ...base, pendingOperation: { _tag: "Capture", amount: event.amount, requestedAt: event.at } }
    case "VoidRequested":
      return {
        ...base,
        pendingOperation: {
          _tag: "Void",
          ...(event.reason !== undefined ? { reason: event.reason } : {}),
          requestedAt: event.at
        }
      }
    case "CaptureFailed":
    case "VoidFailed":
      return settled(base)
    case "AttemptStarted":
      return {
        ...base,
        status: "processing",
        gateway: event.gateway,
        needsReconciliation: false,
        attempts: [
          ...p.attempts,
          {
            number: event.attempt,
            gateway: event.gateway,
            idempotencyKey: event.idempotencyKey,
            status: "pending",
            ...(event.routing ? { routing: event.routing } : {}),
            startedAt: event.at,
            updatedAt: event.at
          }
        ]
      }
    case "AttemptFailed":
      return {
        ...base,
        needsReconciliation: false,
        attempts: updateLast(p.attempts, (a) => ({
          ...a,
          status: "failed",
          failure: event.failure,
          updatedAt: event.at
        }))
      }
    case "AttemptOutcomeUnknown":
      return {
        ...base,
        needsReconciliation: true,
        attempts: updateLast(p.attempts, (a) => ({
          ...a,
          status: "unknown",
          unknownReason: event.reason,
          updatedAt: event.at
        }))
      }
    case "PaymentAuthorized":
      return {
        ...base,
        status: "requires_capture",
        needsReconciliation: false,
        gateway: event.gateway,
        gatewayReference: event.gatewayReference,
        amountAuthorized: event.amount,
        attempts: updateLast(p.attempts, (a) => ({
          ...a,
          status: "succeeded",
          gatewayReference: event.gatewayReference,
          updatedAt: event.at
        }))
      }
    case "PaymentCaptured":
      return {
        ...settled(base),
        status: "succeeded",
        needsReconciliation: false,
        gateway: event.gateway,
        gatewayReference: event.gatewayReference,
        amountAuthorized: p.status === "requires_capture" ? p.amountAuthorized : event.amount,
        amountCaptured: event.amount,
        attempts:
          p.status === "processing"
            ? updateLast(p.attempts, (a) => ({
                ...a,
                status: "succeeded",
                gatewayReference: event.gatewayReference,
                updatedAt: event.at
              }))
            : p.attempts
      }
    case "PaymentFailed":
      return { ...base, status: "failed", needsReconciliation: false, failure: event.failure }
    case "RefundRequested":
      return {
        ...base,
        amountRefundPending: p.amountRefundPending + event.amount,
        refunds: [
          ...p.refunds,
          {
            id: event.refundId,
            amount: event.amount,
            status: "pending",
            ...(event.reason !== undefined ? { reason: event.reason } : {}),
            requestedAt: event.at,
            updatedAt: event.at
          }
        ]
      }
    case "RefundSucceeded": {
      const amountRefunded = p.amountRefunded + event.amount
      return {
        ...base,
        status: amountRefunded >= p.amountCaptured ? "refunded" : "partially_refunded",
        amountRefunded,
        amountRefundPending: p.amountRefundPending - event.amount,
        refunds: updateRefund(p, event.refundId, (r) => ({
          ...r,
          status: "succeeded",
          ...(event.gatewayReference !== undefined ? { gatewayReference: event.gatewayReference } : {}),
          updatedAt: event.at
        }))
      }
    }
    case "RefundFailed":
      return {
        ...base,
        amountRefundPending: p.amountRefundPending - event.amount,
        refunds: updateRefund(p, event.refundId, (r) => ({
          ...r,
          status: "failed",
          failure: event.failure,
          updatedAt: event.at
        }))
      }
  }
}

/**
 * Applies one event. Total and pure: an event that cannot apply to the state (only possible with a
 * corrupted stream) leaves the state unchanged.
 *
 * @since 0.1.0
 * @category transitions
 */
export const evolve = (state: State, event: Event.PaymentEvent): State => {
  if (event._tag === "PaymentInitiated") {
    return {
      id: event.paymentId,
      merchantId: event.merchantId,
      status: "initiated",
      amount: event.amount,
      amountAuthorized: 0n,
      amountCaptured: 0n,
      amountRefunded: 0n,
      amountRefundPending: 0n,
      captureMethod: event.captureMethod,
      customer: event.customer,
      card: event.card,
      ...(event.description !== undefined ? { description: event.description } : {}),
      metadata: event.metadata,
      attempts: [],
      refunds: [],
      needsReconciliation: false,
      version: state.version + 1,
      createdAt: event.at,
      updatedAt: event.at
    }
  }
  return exists(state) ? evolvePayment(state, event) : state
}

/**
 * The state after `events`, from `initial` or a given snapshot.
 *
 * @since 0.1.0
 * @category transitions
 */
export const replay = (events: Iterable<Event.PaymentEvent>, from: State = initial): State => {
  let state = from
  for (const event of events) state = evolve(state, event)
  return state
}

/**
 * The invariants every reachable state keeps; returns the violated ones (empty when all hold).
 *
 * @since 0.1.0
 * @category invariants
 */
export const violations = (state: State): ReadonlyArray<string> => {
  if (!exists(state)) return []
  const out: Array<string> = []
  const p = state
  if (p.amountRefunded < 0n || p.amountRefundPending < 0n) out.push("refund amounts are negative")
  if (p.amountRefunded + p.amountRefundPending > p.amountCaptured)
    out.push("refunds exceed the captured amount")
  if (p.amountCaptured > p.amountAuthorized && p.captureMethod === "manual")
    out.push("captured more than authorized")
  if (p.amountCaptured > p.amount.amount) out.push("captured more than the payment amount")
  if (p.amountAuthorized > p.amount.amount) out.push("authorized more than the payment amount")
  if (p.status === "refunded" && p.amountRefunded !== p.amountCaptured) out.push("refunded but not in full")
  if (p.status === "partially_refunded" && !(p.amountRefunded > 0n && p.amountRefunded < p.amountCaptured)) {
    out.push("partially refunded without a partial refund")
  }
  const pendingRefunds = p.refunds.filter((r) => r.status === "pending").reduce((a, r) => a + r.amount, 0n)
  if (pendingRefunds !== p.amountRefundPending) out.push("pending refunds do not add up")
  const doneRefunds = p.refunds.filter((r) => r.status === "succeeded").reduce((a, r) => a + r.amount, 0n)
  if (doneRefunds !== p.amountRefunded) out.push("succeeded refunds do not add up")
  if (p.attempts.filter((a) => a.status === "succeeded").length > 1)
    out.push("more than one attempt succeeded")
  p.attempts.forEach((a, i) => {
    if (a.number !== i + 1) out.push(`attempt ${i + 1} is numbered ${a.number}`)
    if (a.idempotencyKey !== attemptKey(p.id, a.number)) out.push(`attempt ${a.number} has a foreign key`)
  })
  if (p.needsReconciliation !== (currentAttempt(p)?.status === "unknown")) {
    out.push("reconciliation flag disagrees with the current attempt")
  }
  const pending = p.pendingOperation
  if (pending !== undefined && p.status !== "requires_capture") {
    out.push(`a pending ${pending._tag.toLowerCase()} outside requires_capture`)
  }
  if (pending?._tag === "Capture" && (pending.amount <= 0n || pending.amount > p.amountAuthorized)) {
    out.push("the pending capture is not within the authorized amount")
  }
  if (p.status === "requires_capture" && p.amountCaptured !== 0n) out.push("captured before the capture")
  return out
}
