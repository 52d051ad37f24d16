/**
 * The write side of AegisPay: create (orchestrated to a definite outcome, or `processing` when the
 * outcome is unknown), capture, cancel/void and refund; plus the reads a caller needs after a write.
 *
 * Every command: idempotency claim (when a key is given) → lock on the payment → decide on the
 * aggregate → gateway call through breaker and retry → append with the expected version (a
 * `ConcurrencyConflict` is retried from fresh state a bounded number of times). The rules of
 * DESIGN.md section 3 that make "zero duplicate charges" true live here and in `Payment.decide`.
 *
 * @since 0.1.0
 */
import {
  Card,
  Customer,
  EventStore,
  Failure,
  Gateway,
  GatewayError,
  IdempotencyStore,
  Ids,
  LockManager,
  Money,
  Payment,
  PaymentCommand as C,
  PaymentError,
  PaymentEvent,
  PaymentReadModel,
  PersistenceError,
  Risk
} from "@aegispay/core"
import {
  Clock,
  Context,
  DateTime,
  type Duration,
  Effect,
  Either,
  Layer,
  Metric,
  Option,
  Schema
} from "effect"
import { GatewayGuard, type GatewayRefused } from "./GatewayGuard.js"
import { Hooks, type HookRejection } from "./Hooks.js"
import * as Metrics from "./Metrics.js"
import { derivedId, requestHash } from "./internal/requestHash.js"
import {
  GatewayRejected,
  GatewayUnavailable,
  IdempotencyKeyInUse,
  IdempotencyKeyReused,
  PaymentNotFound
} from "./PaymentError.js"
import * as RequestContext from "./RequestContext.js"
import { Router } from "./Router.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface CreatePaymentInput {
  readonly merchantId: Ids.MerchantId
  readonly idempotencyKey?: Ids.IdempotencyKey | undefined
  readonly amount: Money.Money
  readonly customer: Customer.Customer
  readonly card: Card.CardDetails
  readonly captureMethod?: PaymentEvent.CaptureMethod | undefined
  /** Pin one gateway. */
  readonly gateway?: Ids.GatewayId | undefined
  readonly description?: string | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RefundInput {
  readonly merchantId: Ids.MerchantId
  readonly paymentId: Ids.PaymentId
  readonly idempotencyKey?: Ids.IdempotencyKey | undefined
  /** Default: everything still refundable. */
  readonly amount?: bigint | undefined
  readonly reason?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Outcome<A> {
  readonly value: A
  /** True when this is the stored answer to an earlier request with the same idempotency key. */
  readonly replayed: boolean
}

/**
 * A refund as the API shows it.
 *
 * @since 0.1.0
 * @category models
 */
export const RefundView = Schema.Struct({
  id: Ids.RefundId,
  paymentId: Ids.PaymentId,
  amount: Money.MinorUnits,
  currency: Schema.String,
  status: Schema.Literal("pending", "succeeded", "failed"),
  reason: Schema.optional(Schema.String),
  failure: Schema.optional(Failure.Failure),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 * @category models
 */
export type RefundView = typeof RefundView.Type

/**
 * @since 0.1.0
 * @category models
 */
export type CommandError =
  | PaymentNotFound
  | PaymentError.InvalidTransition
  | PaymentError.InvalidAmount
  | GatewayUnavailable
  | GatewayRejected
  | HookRejection
  | IdempotencyKeyInUse
  | IdempotencyKeyReused
  | LockManager.LockTimeout
  | EventStore.ConcurrencyConflict
  | PersistenceError.PersistenceError

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly create: (
    input: CreatePaymentInput
  ) => Effect.Effect<
    Outcome<Payment.Payment>,
    | PaymentError.InvalidAmount
    | PaymentError.InvalidTransition
    | HookRejection
    | IdempotencyKeyInUse
    | IdempotencyKeyReused
    | LockManager.LockTimeout
    | EventStore.ConcurrencyConflict
    | PersistenceError.PersistenceError
  >
  readonly capture: (input: {
    readonly merchantId: Ids.MerchantId
    readonly paymentId: Ids.PaymentId
    readonly amount?: bigint | undefined
  }) => Effect.Effect<Payment.Payment, CommandError>
  readonly cancel: (input: {
    readonly merchantId: Ids.MerchantId
    readonly paymentId: Ids.PaymentId
    readonly reason?: string | undefined
  }) => Effect.Effect<Payment.Payment, CommandError>
  readonly refund: (input: RefundInput) => Effect.Effect<Outcome<RefundView>, CommandError>
  readonly get: (
    merchantId: Ids.MerchantId,
    paymentId: Ids.PaymentId
  ) => Effect.Effect<Payment.Payment, PaymentNotFound | PersistenceError.PersistenceError>
  readonly events: (
    merchantId: Ids.MerchantId,
    paymentId: Ids.PaymentId
  ) => Effect.Effect<
    ReadonlyArray<EventStore.RecordedEvent>,
    PaymentNotFound | PersistenceError.PersistenceError
  >
}

/**
 * @since 0.1.0
 * @category tags
 */
export class PaymentService extends Context.Tag("aegispay/PaymentService")<PaymentService, Service>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How many times a command is decided again after a `ConcurrencyConflict` (default 3). */
  readonly conflictRetries?: number
  /** How long a command waits for the payment's lock (default 10 seconds). */
  readonly lockTimeout?: Duration.DurationInput
}

const EncodedPayment = Schema.parseJson(Payment.Payment)
const EncodedRefund = Schema.parseJson(RefundView)

/** Maps a gateway error of an attempt to the failure recorded in the payment. */
const failureOf = (e: GatewayError.GatewayError | GatewayRefused): Failure.Failure => {
  switch (e._tag) {
    case "HardDecline":
      return new Failure.Failure({ code: e.code, message: e.detail, category: "hard_decline" })
    case "SoftDecline":
      return new Failure.Failure({ code: e.code, message: e.detail, category: "soft_decline" })
    case "Retryable":
      return new Failure.Failure({ code: e.code, message: e.detail, category: "retryable" })
    case "Misconfigured":
      return new Failure.Failure({ code: e.code, message: e.detail, category: "misconfigured" })
    case "Ambiguous":
      return new Failure.Failure({ code: e.code, message: e.detail, category: "unknown_outcome" })
    case "GatewayRefused":
      return new Failure.Failure({ code: "gateway_unavailable", message: e.reason, category: "unavailable" })
  }
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function* () {
    const store = yield* EventStore.EventStore
    const readModel = yield* PaymentReadModel.PaymentReadModel
    const idempotency = yield* IdempotencyStore.IdempotencyStore
    const locks = yield* LockManager.LockManager
    const registry = yield* Gateway.GatewayRegistry
    const guard = yield* GatewayGuard
    const router = yield* Router
    const hooks = yield* Hooks
    const ids = yield* Ids.Ids
    const conflictRetries = options.conflictRetries ?? 3
    const lockTimeout = options.lockTimeout ?? "10 seconds"

    const now = Effect.map(Clock.currentTimeMillis, (ms) => DateTime.unsafeMake(ms))
    /** Correlation id and W3C trace parent of the current span, recorded with each event. */
    const metadata = Effect.gen(function* () {
      const correlationId = yield* RequestContext.correlationId
      const span = yield* Effect.option(Effect.currentSpan)
      const traceparent = Option.isSome(span)
        ? Option.some(`00-${span.value.traceId}-${span.value.spanId}-${span.value.sampled ? "01" : "00"}`)
        : yield* RequestContext.traceparent
      return {
        ...(Option.isSome(correlationId) ? { correlationId: correlationId.value } : {}),
        ...(Option.isSome(traceparent) ? { traceparent: traceparent.value } : {})
      }
    })

    const load = (paymentId: Ids.PaymentId) =>
      store.read(paymentId).pipe(Effect.map((events) => Payment.replay(events.map((e) => e.event))))

    /** Appends events decided on `from`; returns the new state. */
    const commit = (
      paymentId: Ids.PaymentId,
      from: Payment.State,
      events: ReadonlyArray<PaymentEvent.PaymentEvent>
    ) =>
      events.length === 0
        ? Effect.succeed(from)
        : Effect.gen(function* () {
            yield* store.append(paymentId, from.version, events, yield* metadata).pipe(
              Effect.withSpan("EventStore.append", {
                captureStackTrace: false,
                attributes: {
                  paymentId,
                  expectedVersion: from.version,
                  events: events.map((e) => e._tag).join(",")
                }
              })
            )
            yield* hooks
              .publish(paymentId, events)
              .pipe(Effect.withSpan("Hooks.publish", { captureStackTrace: false }))
            return Payment.replay(events, from)
          })

    const decide = (state: Payment.State, command: C.PaymentCommand) =>
      Either.match(Payment.decide(state, command), {
        onLeft: (e) => Effect.fail(e),
        onRight: (events) => Effect.succeed({ events, next: Payment.replay(events, state) })
      })

    const owned = (merchantId: Ids.MerchantId, paymentId: Ids.PaymentId, state: Payment.State) =>
      Payment.exists(state) && state.merchantId === merchantId
        ? Effect.succeed(state)
        : Effect.fail(new PaymentNotFound({ paymentId }))

    /** Runs `body` holding the payment's lock; retries it from fresh state on a version conflict. */
    const locked = <A, E, R>(paymentId: Ids.PaymentId, body: Effect.Effect<A, E, R>) =>
      locks.withLock(`payment:${paymentId}`, body, lockTimeout).pipe(
        Effect.withSpan("LockManager.withLock", {
          captureStackTrace: false,
          attributes: { key: `payment:${paymentId}` }
        }),
        Effect.retry({
          times: conflictRetries,
          while: (e) => (e as { _tag?: string })._tag === "ConcurrencyConflict"
        })
      )

    /** Claims an idempotency key around `body`, replaying a completed answer. */
    const idempotent = <A, E, R>(
      merchantId: Ids.MerchantId,
      key: Ids.IdempotencyKey | undefined,
      request: unknown,
      schema: Schema.Schema<A, string>,
      status: number,
      body: Effect.Effect<A, E, R>
    ): Effect.Effect<
      Outcome<A>,
      E | IdempotencyKeyInUse | IdempotencyKeyReused | PersistenceError.PersistenceError,
      R
    > => {
      if (key === undefined) return Effect.map(body, (value) => ({ value, replayed: false }))
      const claim = { merchantId, key, requestHash: requestHash(request) }
      return Effect.gen(function* () {
        const result = yield* idempotency
          .claim(claim)
          .pipe(Effect.withSpan("IdempotencyStore.claim", { captureStackTrace: false }))
        if (result._tag === "Completed") yield* Metric.update(Metrics.idempotentReplays, 1)
        switch (result._tag) {
          case "InFlight":
            return yield* new IdempotencyKeyInUse({ key })
          case "Mismatch":
            return yield* new IdempotencyKeyReused({ key })
          case "Completed":
            return {
              value: yield* Schema.decode(schema)(result.response.body).pipe(Effect.orDie),
              replayed: true
            }
          case "New": {
            const value = yield* body.pipe(
              // a request that failed before anything was written gives the key back
              Effect.tapError(() => idempotency.release(claim).pipe(Effect.ignore))
            )
            const encoded = yield* Schema.encode(schema)(value).pipe(Effect.orDie)
            yield* idempotency.complete(
              claim,
              new IdempotencyStore.StoredResponse({ status, body: encoded, headers: {} })
            )
            return { value, replayed: false }
          }
        }
      })
    }

    /** One attempt on one gateway; returns the state after it. */
    const attempt = (state: Payment.Payment, gateway: Gateway.Gateway, card: Card.CardDetails) =>
      Effect.gen(function* () {
        const current = Payment.currentAttempt(state)!
        const request: Gateway.AuthorizeRequest = {
          idempotencyKey: current.idempotencyKey,
          amount: state.amount,
          captureMethod: state.captureMethod,
          paymentMethod: { _tag: "Card", card },
          customer: state.customer,
          description: state.description,
          metadata: {
            ...state.metadata,
            aegispay_payment_id: state.id,
            aegispay_attempt_key: current.idempotencyKey
          }
        }
        const result = yield* guard.call(gateway.id, gateway.authorize(request)).pipe(
          Effect.either,
          Effect.withSpan("Gateway.authorize", {
            captureStackTrace: false,
            attributes: {
              gateway: gateway.id,
              attempt: current.number,
              idempotencyKey: current.idempotencyKey
            }
          })
        )
        const at = yield* now
        yield* Effect.logDebug("gateway attempt finished").pipe(
          Effect.annotateLogs({
            paymentId: state.id,
            gateway: gateway.id,
            attempt: current.number,
            outcome: Either.isRight(result)
              ? result.right.status
              : "code" in result.left
                ? `${result.left._tag}:${result.left.code}`
                : result.left._tag
          })
        )
        if (Either.isRight(result)) {
          const psp = result.right
          if (psp.status === "authorized" || psp.status === "captured") {
            return yield* decide(
              state,
              new C.CompleteAttempt(
                { attempt: current.number, gatewayReference: psp.gatewayReference, at },
                true
              )
            )
          }
          if (psp.status === "pending") {
            return yield* decide(
              state,
              new C.MarkAttemptOutcomeUnknown(
                {
                  attempt: current.number,
                  reason: "the PSP reports the payment as pending",
                  at
                },
                true
              )
            )
          }
          const failure = new Failure.Failure({
            code: `psp_${psp.status}`,
            message: `the PSP reports the payment as ${psp.status}`,
            category: "soft_decline"
          })
          return yield* decide(state, new C.FailAttempt({ attempt: current.number, failure, at }, true))
        }
        const error = result.left
        if (error._tag === "Ambiguous") {
          yield* Effect.logWarning("gateway outcome unknown: the payment waits for reconciliation").pipe(
            Effect.annotateLogs({ paymentId: state.id, gateway: gateway.id, code: error.code })
          )
          return yield* decide(
            state,
            new C.MarkAttemptOutcomeUnknown(
              {
                attempt: current.number,
                reason: `${error.code}: ${error.detail}`,
                at
              },
              true
            )
          )
        }
        return yield* decide(
          state,
          new C.FailAttempt({ attempt: current.number, failure: failureOf(error), at }, true)
        )
      })

    const orchestrate = (paymentId: Ids.PaymentId, input: CreatePaymentInput) =>
      Effect.gen(function* () {
        const existing = yield* load(paymentId)
        if (Payment.exists(existing)) return existing // a retry of a create that was already recorded
        yield* hooks.before("create", paymentId)
        const card = Card.summarize(input.card)
        const create = new C.CreatePayment({
          paymentId,
          merchantId: input.merchantId,
          amount: input.amount,
          captureMethod: input.captureMethod ?? "automatic",
          customer: input.customer,
          card,
          ...(input.description !== undefined ? { description: input.description } : {}),
          metadata: input.metadata ?? {},
          at: yield* now
        })
        const created = yield* decide(existing, create)
        let pending: Array<PaymentEvent.PaymentEvent> = [...created.events]
        let state = created.next as Payment.Payment
        let persisted: Payment.State = existing
        const flush = Effect.gen(function* () {
          persisted = yield* commit(paymentId, persisted, pending)
          pending = []
        })
        const step = (command: C.PaymentCommand) =>
          Effect.gen(function* () {
            const d = yield* decide(state, command)
            pending.push(...d.events)
            state = d.next as Payment.Payment
          })

        const context = {
          paymentId,
          merchantId: input.merchantId,
          amount: input.amount,
          customer: input.customer,
          card,
          captureMethod: state.captureMethod,
          metadata: state.metadata
        }
        const validation = yield* hooks.preValidate(context).pipe(Effect.either)
        if (Either.isLeft(validation)) {
          const e = validation.left
          yield* step(
            new C.BlockPayment(
              {
                failure: new Failure.Failure({ code: e.code, message: e.reason, category: "validation" }),
                at: yield* now
              },
              true
            )
          )
          yield* flush
          return state
        }
        const fraud = yield* hooks.checkFraud(context)
        if (fraud._tag === "Deny") {
          yield* step(
            new C.BlockPayment(
              {
                failure: new Failure.Failure({
                  code: "fraud_suspected",
                  message: fraud.reason,
                  category: "fraud"
                }),
                risk: new Risk.RiskAssessment({
                  score: fraud.score,
                  reason: fraud.reason,
                  checkedBy: fraud.hook
                }),
                at: yield* now
              },
              true
            )
          )
          yield* flush
          return state
        }
        yield* step(
          new C.AuthenticatePayment(
            {
              risk: new Risk.RiskAssessment({ score: fraud.score, reason: fraud.reason }),
              at: yield* now
            },
            true
          )
        )

        const ranking = yield* router.route({
          paymentId,
          amount: input.amount,
          country: input.customer.country,
          cardBrand: card.brand,
          metadata: state.metadata,
          pinned: input.gateway
        })
        if (ranking.ordered.length === 0) {
          yield* step(
            new C.BlockPayment(
              {
                failure: new Failure.Failure({
                  code: "no_gateway_available",
                  message: ranking.decision.reason,
                  category: "unavailable"
                }),
                at: yield* now
              },
              true
            )
          )
          yield* flush
          return state
        }

        let lastFailure: Failure.Failure | undefined
        for (const [index, gatewayId] of ranking.ordered.entries()) {
          const gateway = yield* registry.get(gatewayId).pipe(Effect.option)
          if (Option.isNone(gateway)) continue
          yield* step(
            new C.StartAttempt(
              {
                gateway: gatewayId,
                ...(index === 0 ? { routing: ranking.decision } : {}),
                at: yield* now
              },
              true
            )
          )
          yield* flush // the attempt and its key are durable before the PSP hears of it
          const after = yield* attempt(state, gateway.value, input.card)
          pending.push(...after.events)
          state = after.next as Payment.Payment
          const current = Payment.currentAttempt(state)
          if (state.status !== "processing" || current?.status === "unknown") break
          lastFailure = current?.failure
          if (lastFailure !== undefined && !Failure.allowsFailover(lastFailure.category)) break
        }
        if (state.status === "processing" && Payment.currentAttempt(state)?.status === "failed") {
          const last = lastFailure ?? Payment.currentAttempt(state)?.failure
          const final =
            last !== undefined && !Failure.allowsFailover(last.category)
              ? last
              : new Failure.Failure({
                  code: last?.code ?? "all_gateways_failed",
                  message: `every gateway failed${last ? `; last: ${last.message}` : ""}`,
                  category: last?.category === "soft_decline" ? "soft_decline" : "exhausted"
                })
          yield* step(new C.FailPayment({ failure: final, at: yield* now }, true))
        }
        yield* flush
        return state
      })

    const create: Service["create"] = (input) =>
      Effect.gen(function* () {
        const request = {
          amount: input.amount.amount,
          currency: input.amount.currency,
          customer: Schema.encodeSync(Customer.Customer)(input.customer),
          card: Schema.encodeSync(Card.CardSummary)(Card.summarize(input.card)),
          captureMethod: input.captureMethod ?? "automatic",
          gateway: input.gateway,
          description: input.description,
          metadata: input.metadata ?? {}
        }
        const paymentId =
          input.idempotencyKey !== undefined
            ? (derivedId("pay", `${input.merchantId}\u0000${input.idempotencyKey}`) as Ids.PaymentId)
            : yield* ids.paymentId
        const outcome = yield* idempotent(
          input.merchantId,
          input.idempotencyKey,
          request,
          EncodedPayment,
          201,
          locked(paymentId, orchestrate(paymentId, input)).pipe(
            Effect.tap((p) => hooks.after("create", p.id, p.status)),
            Effect.tap((p) =>
              Effect.logInfo("payment created").pipe(
                Effect.annotateLogs({
                  paymentId: p.id,
                  status: p.status,
                  gateway: p.gateway ?? "none",
                  amount: p.amount.amount.toString(),
                  currency: p.amount.currency,
                  attempts: p.attempts.length
                })
              )
            ),
            Effect.tap((p) =>
              Metric.update(
                Metrics.payments.pipe(
                  Metric.tagged("status", p.status),
                  Metric.tagged("gateway", p.gateway ?? "none"),
                  Metric.tagged("currency", p.amount.currency)
                ),
                1
              )
            ),
            Metric.trackDuration(Metrics.paymentDuration),
            Effect.withSpan("PaymentService.create", {
              captureStackTrace: false,
              attributes: { paymentId, merchantId: input.merchantId }
            })
          )
        )
        return outcome
      }).pipe(Effect.annotateLogs({ merchantId: input.merchantId }))

    const pspError =
      (gateway: string, operation: string) => (e: GatewayError.GatewayError | GatewayRefused) =>
        e._tag === "Ambiguous" || e._tag === "Retryable" || e._tag === "GatewayRefused"
          ? new GatewayUnavailable({
              gateway,
              operation,
              detail: e._tag === "GatewayRefused" ? e.reason : `${e.code}: ${e.detail}`
            })
          : new GatewayRejected({ gateway, operation, code: e.code, detail: e.detail })

    const gatewayOf = (p: Payment.Payment) =>
      registry.get(p.gateway ?? ("" as Ids.GatewayId)).pipe(
        Effect.mapError(
          () =>
            new GatewayUnavailable({
              gateway: p.gateway ?? "none",
              operation: "lookup",
              detail: "gateway no longer registered"
            })
        )
      )

    const loadOwned = (merchantId: Ids.MerchantId, paymentId: Ids.PaymentId) =>
      Effect.flatMap(load(paymentId), (state) => owned(merchantId, paymentId, state))

    /**
     * Records the PSP's answer to a reserved capture or void. Done: `complete`. Refused, or never
     * sent (rate limited, connection refused, circuit open): `fail`, which clears the reservation
     * (so the caller may ask again), and the caller gets the typed error. Ambiguous: the reservation
     * stays pending for the Reconciler, which re-sends the same request with the same key, and the
     * caller gets `GatewayUnavailable`.
     */
    const settle = (
      reserved: Payment.Payment,
      gateway: Ids.GatewayId,
      operation: "capture" | "void",
      result: Either.Either<Gateway.GatewayPayment, GatewayError.GatewayError | GatewayRefused>
    ) =>
      Effect.gen(function* () {
        const at = yield* now
        if (Either.isRight(result)) {
          const done = yield* decide(
            reserved,
            operation === "capture" ? new C.CompleteCapture({ at }, true) : new C.CompleteVoid({ at }, true)
          )
          return (yield* commit(reserved.id, reserved, done.events)) as Payment.Payment
        }
        const e = result.left
        if (e._tag === "Ambiguous") {
          yield* Effect.logWarning(`${operation} outcome unknown: left pending for reconciliation`).pipe(
            Effect.annotateLogs({ paymentId: reserved.id, gateway, code: e.code })
          )
          return yield* new GatewayUnavailable({
            gateway,
            operation,
            detail: `${e.code}: ${e.detail}; the ${operation} is reserved and reconciliation completes it with the same PSP key`
          })
        }
        const failure = failureOf(e)
        const failed = yield* decide(
          reserved,
          operation === "capture"
            ? new C.FailCapture({ failure, at }, true)
            : new C.FailVoid({ failure, at }, true)
        )
        yield* commit(reserved.id, reserved, failed.events)
        yield* Effect.logInfo(`${operation} failed`).pipe(
          Effect.annotateLogs({ paymentId: reserved.id, gateway, code: failure.code })
        )
        return yield* pspError(gateway, operation)(e)
      })

    const capture: Service["capture"] = (input) =>
      locked(
        input.paymentId,
        Effect.gen(function* () {
          const state = yield* loadOwned(input.merchantId, input.paymentId)
          yield* hooks.before("capture", state.id)
          const requested = yield* decide(
            state,
            new C.CapturePayment({
              ...(input.amount !== undefined ? { amount: input.amount } : {}),
              at: yield* now
            })
          )
          const gateway = yield* gatewayOf(state)
          // the capture is reserved (durable) before the PSP hears of it
          const reserved = (yield* commit(state.id, state, requested.events)) as Payment.Payment
          const amount = reserved.pendingOperation?._tag === "Capture" ? reserved.pendingOperation.amount : 0n
          const result = yield* guard
            .call(
              gateway.id,
              gateway.capture({
                gatewayReference: reserved.gatewayReference ?? "",
                amount: Money.make(amount, reserved.amount.currency),
                idempotencyKey: Payment.captureKey(reserved.id)
              })
            )
            .pipe(Effect.either)
          const next = yield* settle(reserved, gateway.id, "capture", result)
          yield* Effect.logInfo("payment captured").pipe(
            Effect.annotateLogs({ paymentId: state.id, amountCaptured: next.amountCaptured.toString() })
          )
          yield* hooks.after("capture", state.id, next.status)
          return next
        })
      ).pipe(
        Effect.withSpan("PaymentService.capture", {
          captureStackTrace: false,
          attributes: { paymentId: input.paymentId }
        })
      )

    const cancel: Service["cancel"] = (input) =>
      locked(
        input.paymentId,
        Effect.gen(function* () {
          const state = yield* loadOwned(input.merchantId, input.paymentId)
          yield* hooks.before("cancel", state.id)
          const decided = yield* decide(
            state,
            new C.CancelPayment({
              ...(input.reason !== undefined ? { reason: input.reason } : {}),
              at: yield* now
            })
          )
          let next: Payment.Payment
          if (state.status === "requires_capture") {
            const gateway = yield* gatewayOf(state)
            // the void is reserved (durable) before the PSP hears of it
            const reserved = (yield* commit(state.id, state, decided.events)) as Payment.Payment
            const result = yield* guard
              .call(
                gateway.id,
                gateway.void({
                  gatewayReference: reserved.gatewayReference ?? "",
                  idempotencyKey: Payment.voidKey(reserved.id)
                })
              )
              .pipe(Effect.either)
            next = yield* settle(reserved, gateway.id, "void", result)
          } else {
            next = (yield* commit(state.id, state, decided.events)) as Payment.Payment
          }
          yield* Effect.logInfo("payment cancelled").pipe(Effect.annotateLogs({ paymentId: state.id }))
          yield* hooks.after("cancel", state.id, next.status)
          return next
        })
      ).pipe(
        Effect.withSpan("PaymentService.cancel", {
          captureStackTrace: false,
          attributes: { paymentId: input.paymentId }
        })
      )

    const refundView = (p: Payment.Payment, id: Ids.RefundId): RefundView => {
      const r = p.refunds.find((x) => x.id === id)!
      return {
        id: r.id,
        paymentId: p.id,
        amount: r.amount,
        currency: p.amount.currency,
        status: r.status,
        ...(r.reason !== undefined ? { reason: r.reason } : {}),
        ...(r.failure !== undefined ? { failure: r.failure } : {}),
        createdAt: r.requestedAt,
        updatedAt: r.updatedAt
      }
    }

    const refund: Service["refund"] = (input) =>
      Effect.gen(function* () {
        const refundId =
          input.idempotencyKey !== undefined
            ? (derivedId(
                "re",
                `${input.merchantId}\u0000${input.paymentId}\u0000${input.idempotencyKey}`
              ) as Ids.RefundId)
            : yield* ids.refundId
        const body = locked(
          input.paymentId,
          Effect.gen(function* () {
            const state = yield* loadOwned(input.merchantId, input.paymentId)
            if (state.refunds.some((r) => r.id === refundId)) return refundView(state, refundId) // a retry after a crash
            yield* hooks.before("refund", state.id)
            const requested = yield* decide(
              state,
              new C.RequestRefund({
                refundId,
                ...(input.amount !== undefined ? { amount: input.amount } : {}),
                ...(input.reason !== undefined ? { reason: input.reason } : {}),
                at: yield* now
              })
            )
            const reserved = (yield* commit(state.id, state, requested.events)) as Payment.Payment
            const amount = reserved.refunds.find((r) => r.id === refundId)!.amount
            const gateway = yield* gatewayOf(reserved)
            const result = yield* guard
              .call(
                gateway.id,
                gateway.refund({
                  gatewayReference: reserved.gatewayReference ?? "",
                  amount: Money.make(amount, reserved.amount.currency),
                  idempotencyKey: refundId,
                  reason: input.reason
                })
              )
              .pipe(Effect.either)
            const at = yield* now
            if (Either.isRight(result)) {
              const done = yield* decide(
                reserved,
                new C.CompleteRefund({ refundId, gatewayReference: result.right.gatewayReference, at }, true)
              )
              const next = (yield* commit(state.id, reserved, done.events)) as Payment.Payment
              yield* Effect.logInfo("refund succeeded").pipe(
                Effect.annotateLogs({
                  paymentId: state.id,
                  refundId,
                  amount: input.amount?.toString() ?? "rest"
                })
              )
              yield* hooks.after("refund", state.id, next.status)
              return refundView(next, refundId)
            }
            const e = result.left
            if (e._tag === "HardDecline" || e._tag === "SoftDecline" || e._tag === "Misconfigured") {
              const failed = yield* decide(
                reserved,
                new C.FailRefund({ refundId, failure: failureOf(e), at }, true)
              )
              const next = (yield* commit(state.id, reserved, failed.events)) as Payment.Payment
              yield* Effect.logInfo("refund failed").pipe(
                Effect.annotateLogs({ paymentId: state.id, refundId, code: e.code })
              )
              return refundView(next, refundId)
            }
            // outcome unknown or PSP unavailable: the refund stays pending (reserved); the reconciler
            // retries it with the same idempotency key until the PSP answers
            yield* Effect.logWarning("refund outcome unknown: left pending for reconciliation").pipe(
              Effect.annotateLogs({ paymentId: state.id, refundId })
            )
            return refundView(reserved, refundId)
          })
        )
        return yield* idempotent(
          input.merchantId,
          input.idempotencyKey,
          { paymentId: input.paymentId, amount: input.amount, reason: input.reason },
          EncodedRefund,
          201,
          body
        )
      }).pipe(
        Effect.withSpan("PaymentService.refund", {
          captureStackTrace: false,
          attributes: { paymentId: input.paymentId }
        })
      )

    const get: Service["get"] = (merchantId, paymentId) =>
      readModel.get(merchantId, paymentId).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(new PaymentNotFound({ paymentId })),
            onSome: Effect.succeed
          })
        )
      )

    const events: Service["events"] = (merchantId, paymentId) =>
      Effect.gen(function* () {
        const recorded = yield* store.read(paymentId)
        const first = recorded[0]?.event
        if (first === undefined || first._tag !== "PaymentInitiated" || first.merchantId !== merchantId) {
          return yield* new PaymentNotFound({ paymentId })
        }
        return recorded
      })

    return PaymentService.of({ create, capture, cancel, refund, get, events })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}) => Layer.effect(PaymentService, make(options))
