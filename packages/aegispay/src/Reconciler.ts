/**
 * The Reconciler resolves what a crash or an ambiguous PSP answer left open: payments whose current
 * attempt is `pending` (the process died mid-call) or `unknown` (timeout, lost response), refunds
 * still `pending`, and captures or voids reserved but never recorded as done or refused. It asks the
 * attempt's own gateway by our idempotency key, never another gateway (a pending refund, capture or
 * void is re-sent as first sent, with the same key, so the PSP replays its answer), and records what
 * the PSP says. It runs on start and then periodically, with
 * bounded concurrency and per-payment exponential backoff; what it cannot resolve before the
 * deadline is reported (log, metric, `unresolved` query), never silently failed.
 *
 * @since 0.1.0
 */
import {
  EventStore,
  Failure,
  Gateway,
  LockManager,
  Money,
  Payment,
  PaymentCommand as C,
  PaymentEvent,
  PaymentReadModel,
  type Ids
} from "@aegispay/core"
import {
  Clock,
  Context,
  DateTime,
  Duration,
  Effect,
  Either,
  HashMap,
  Layer,
  Metric,
  Option,
  Ref,
  Schedule
} from "effect"
import { GatewayGuard } from "./GatewayGuard.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Time between passes (default 10 s). */
  readonly interval: Duration.DurationInput
  /** Age of a pending attempt before it is considered abandoned by its process (default 30 s). */
  readonly pendingGrace: Duration.DurationInput
  /** How long after the attempt started a "not found at the PSP" means it never arrived (default 2 min). */
  readonly notFoundGrace: Duration.DurationInput
  /** After this long unresolved, a payment is reported (default 1 hour). */
  readonly deadline: Duration.DurationInput
  /** Payments resolved at once (default 4). */
  readonly concurrency: number
  /** Payments looked at per pass (default 100). */
  readonly batchSize: number
  /** First backoff after a pass that could not resolve a payment (default 5 s, doubling, at most 5 min). */
  readonly backoff: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults: Options = {
  interval: "10 seconds",
  pendingGrace: "30 seconds",
  notFoundGrace: "2 minutes",
  deadline: "1 hour",
  concurrency: 4,
  batchSize: 100,
  backoff: "5 seconds"
}

/**
 * @since 0.1.0
 * @category models
 */
export type Resolution =
  | "captured"
  | "authorized"
  | "failed"
  | "refunded"
  | "refund_failed"
  | "capture_failed"
  | "voided"
  | "void_failed"
  | "still_unknown"
  | "skipped"
  | "error"

/**
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly examined: number
  readonly resolved: Readonly<Record<Resolution, number>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Unresolved {
  readonly paymentId: Ids.PaymentId
  readonly gateway: string | undefined
  readonly since: Date
  readonly tries: number
  readonly lastOutcome: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** One pass over everything awaiting reconciliation. */
  readonly runOnce: Effect.Effect<Report>
  /** Payments still unresolved past the deadline. */
  readonly unresolved: Effect.Effect<ReadonlyArray<Unresolved>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Reconciler extends Context.Tag("aegispay/Reconciler")<Reconciler, Service>() {}

const reconciliations = Metric.counter("aegispay_reconciliations_total", {
  description: "Payments and refunds examined by the reconciler, by resolution"
})
const unresolvedGauge = Metric.gauge("aegispay_reconciliation_unresolved", {
  description: "Payments unresolved past the reconciliation deadline"
})

interface Tracking {
  readonly tries: number
  readonly nextAt: number
  readonly firstSeen: number
  readonly lastOutcome: string
  readonly gateway: string | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Partial<Options> = {}) =>
  Effect.gen(function* () {
    const o = { ...defaults, ...options }
    const store = yield* EventStore.EventStore
    const readModel = yield* PaymentReadModel.PaymentReadModel
    const registry = yield* Gateway.GatewayRegistry
    const locks = yield* LockManager.LockManager
    const guard = yield* GatewayGuard
    const tracking = yield* Ref.make(HashMap.empty<string, Tracking>())
    const millis = (d: Duration.DurationInput) => Duration.toMillis(Duration.decode(d))

    const now = Effect.map(Clock.currentTimeMillis, (ms) => DateTime.unsafeMake(ms))

    const appendAll = (state: Payment.Payment, commands: ReadonlyArray<C.PaymentCommand>) =>
      Effect.gen(function* () {
        let next: Payment.State = state
        const events: Array<PaymentEvent.PaymentEvent> = []
        for (const command of commands) {
          const decided = Payment.decide(next, command)
          if (Either.isLeft(decided)) return yield* Effect.fail(decided.left)
          events.push(...decided.right)
          next = Payment.replay(decided.right, next)
        }
        yield* store.append(state.id, state.version, events, { actor: "reconciler" })
        return next
      })

    const resolveAttempt = (state: Payment.Payment, nowMs: number): Effect.Effect<Resolution, unknown> =>
      Effect.gen(function* () {
        const attempt = Payment.currentAttempt(state)
        if (state.status !== "processing" || attempt === undefined) return "skipped"
        if (attempt.status !== "pending" && attempt.status !== "unknown") return "skipped"
        const gateway = yield* registry.get(attempt.gateway)
        const lookup = yield* guard.call(gateway.id, gateway.status(attempt.idempotencyKey))
        const at = yield* now
        const fail = (failure: Failure.Failure) =>
          appendAll(state, [
            new C.FailAttempt({ attempt: attempt.number, failure, at }),
            new C.FailPayment({ failure, at })
          ]).pipe(Effect.as<Resolution>("failed"))
        switch (lookup._tag) {
          case "Found": {
            const psp = lookup.payment
            if (psp.status === "captured" || psp.status === "authorized") {
              yield* appendAll(state, [
                new C.CompleteAttempt({ attempt: attempt.number, gatewayReference: psp.gatewayReference, at })
              ])
              return state.captureMethod === "manual" ? "authorized" : "captured"
            }
            if (psp.status === "pending") return "still_unknown"
            return yield* fail(
              new Failure.Failure({
                code: `psp_${psp.status}`,
                message: `the PSP reports the attempt as ${psp.status}`,
                category: "soft_decline"
              })
            )
          }
          case "Declined": {
            const e = lookup.error
            return yield* fail(
              new Failure.Failure({
                code: e.code,
                message: e.detail,
                category: e._tag === "HardDecline" ? "hard_decline" : "soft_decline"
              })
            )
          }
          case "NotFound": {
            if (nowMs - attempt.startedAt.epochMillis < millis(o.notFoundGrace)) return "still_unknown"
            return yield* fail(
              new Failure.Failure({
                code: "attempt_not_received",
                message: "the PSP has no record of the attempt: it was never charged",
                category: "unavailable"
              })
            )
          }
        }
      })

    const resolveRefunds = (state: Payment.Payment): Effect.Effect<Resolution, unknown> =>
      Effect.gen(function* () {
        const pending = state.refunds.filter((r) => r.status === "pending")
        if (pending.length === 0 || state.gateway === undefined) return "skipped"
        const gateway = yield* registry.get(state.gateway)
        let current = state
        let resolution: Resolution = "still_unknown"
        for (const refund of pending) {
          const result = yield* guard
            .call(
              gateway.id,
              gateway.refund({
                gatewayReference: current.gatewayReference ?? "",
                amount: Money.make(refund.amount, current.amount.currency),
                idempotencyKey: refund.id,
                // the request the PSP first saw under this key, reason included: a PSP that checks
                // the body against the key (Stripe) refuses a different one
                reason: refund.reason
              })
            )
            .pipe(Effect.either)
          const at = yield* now
          if (Either.isRight(result)) {
            current = (yield* appendAll(current, [
              new C.CompleteRefund({
                refundId: refund.id,
                gatewayReference: result.right.gatewayReference,
                at
              })
            ])) as Payment.Payment
            resolution = "refunded"
          } else if (
            result.left._tag === "HardDecline" ||
            result.left._tag === "SoftDecline" ||
            result.left._tag === "Misconfigured"
          ) {
            const e = result.left
            current = (yield* appendAll(current, [
              new C.FailRefund({
                refundId: refund.id,
                failure: new Failure.Failure({ code: e.code, message: e.detail, category: "soft_decline" }),
                at
              })
            ])) as Payment.Payment
            resolution = "refund_failed"
          }
        }
        return resolution
      })

    /**
     * A capture or void reserved before its PSP call and never settled (a crash, an outage, an
     * ambiguous answer): the same request with the same key, so the PSP replays its first answer.
     * Only a definite refusal clears it; an unavailable PSP says nothing about the first request.
     */
    const resolvePending = (state: Payment.Payment): Effect.Effect<Resolution, unknown> =>
      Effect.gen(function* () {
        const pending = state.pendingOperation
        if (pending === undefined || state.status !== "requires_capture" || state.gateway === undefined) {
          return "skipped"
        }
        const gateway = yield* registry.get(state.gateway)
        const gatewayReference = state.gatewayReference ?? ""
        const result = yield* guard
          .call(
            gateway.id,
            pending._tag === "Capture"
              ? gateway.capture({
                  gatewayReference,
                  amount: Money.make(pending.amount, state.amount.currency),
                  idempotencyKey: Payment.captureKey(state.id)
                })
              : gateway.void({ gatewayReference, idempotencyKey: Payment.voidKey(state.id) })
          )
          .pipe(Effect.either)
        const at = yield* now
        if (Either.isRight(result)) {
          yield* appendAll(state, [
            pending._tag === "Capture" ? new C.CompleteCapture({ at }) : new C.CompleteVoid({ at })
          ])
          return pending._tag === "Capture" ? "captured" : "voided"
        }
        const e = result.left
        if (e._tag === "HardDecline" || e._tag === "SoftDecline" || e._tag === "Misconfigured") {
          const failure = new Failure.Failure({
            code: e.code,
            message: e.detail,
            category:
              e._tag === "HardDecline"
                ? "hard_decline"
                : e._tag === "SoftDecline"
                  ? "soft_decline"
                  : "misconfigured"
          })
          yield* appendAll(state, [
            pending._tag === "Capture" ? new C.FailCapture({ failure, at }) : new C.FailVoid({ failure, at })
          ])
          return pending._tag === "Capture" ? "capture_failed" : "void_failed"
        }
        return "still_unknown"
      })

    const resolveOne = (paymentId: Ids.PaymentId, nowMs: number): Effect.Effect<Resolution> =>
      locks
        .withLock(
          `payment:${paymentId}`,
          Effect.gen(function* () {
            const events = yield* store.read(paymentId)
            const state = Payment.replay(events.map((e) => e.event))
            if (!Payment.exists(state)) return "skipped" as Resolution
            const attempt = Payment.currentAttempt(state)
            if (
              state.status === "processing" &&
              attempt?.status === "pending" &&
              nowMs - attempt.updatedAt.epochMillis < millis(o.pendingGrace)
            ) {
              return "skipped" as Resolution // its own request may still be working on it
            }
            if (state.pendingOperation !== undefined) {
              // its own request may still be working on it
              if (nowMs - state.pendingOperation.requestedAt.epochMillis < millis(o.pendingGrace)) {
                return "skipped" as Resolution
              }
              return yield* resolvePending(state)
            }
            const first = yield* resolveAttempt(state, nowMs)
            if (first !== "skipped") return first
            return yield* resolveRefunds(state)
          }),
          "5 seconds"
        )
        .pipe(
          Effect.catchAllCause((cause) =>
            Effect.logWarning("reconciliation attempt failed; will retry with backoff").pipe(
              Effect.annotateLogs({ paymentId, cause: String(cause).slice(0, 500) }),
              Effect.as<Resolution>("error")
            )
          ),
          Effect.withSpan("Reconciler.resolve", { attributes: { paymentId } })
        )

    /**
     * When what awaits reconciliation began: a pending capture or void, else the oldest pending
     * refund, else the current attempt (the deadline counts from there, not from the payment).
     */
    const openSince = (p: Payment.Payment): number | undefined =>
      (
        p.pendingOperation?.requestedAt ??
        // refunds are kept in the order they were requested: the first pending one is the oldest
        p.refunds.find((r) => r.status === "pending")?.requestedAt ??
        Payment.currentAttempt(p)?.startedAt
      )?.epochMillis

    const track = (p: Payment.Payment, resolution: Resolution, nowMs: number) =>
      Ref.update(tracking, (map) => {
        if (resolution !== "still_unknown" && resolution !== "error") return HashMap.remove(map, p.id)
        const previous = Option.getOrUndefined(HashMap.get(map, p.id))
        const tries = (previous?.tries ?? 0) + 1
        const delay = Math.min(millis(o.backoff) * 2 ** (tries - 1), 5 * 60_000)
        return HashMap.set(map, p.id, {
          tries,
          nextAt: nowMs + delay,
          firstSeen: previous?.firstSeen ?? Math.min(nowMs, openSince(p) ?? nowMs),
          lastOutcome: resolution,
          gateway: p.gateway
        })
      })

    const unresolved: Service["unresolved"] = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const map = yield* Ref.get(tracking)
      const out: Array<Unresolved> = []
      for (const [paymentId, t] of map) {
        if (nowMs - t.firstSeen >= millis(o.deadline)) {
          out.push({
            paymentId: paymentId as Ids.PaymentId,
            gateway: t.gateway,
            since: new Date(t.firstSeen),
            tries: t.tries,
            lastOutcome: t.lastOutcome
          })
        }
      }
      return out
    })

    const runOnce: Service["runOnce"] = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const candidates = yield* readModel
        .awaitingReconciliation({ limit: o.batchSize, updatedBefore: new Date(nowMs) })
        .pipe(
          Effect.catchAll((e) =>
            Effect.logError("reconciler could not list open payments").pipe(
              Effect.annotateLogs({ error: e.message }),
              Effect.as([] as ReadonlyArray<Payment.Payment>)
            )
          )
        )
      const map = yield* Ref.get(tracking)
      const due = candidates.filter(
        (p) => (Option.getOrUndefined(HashMap.get(map, p.id))?.nextAt ?? 0) <= nowMs
      )
      const results = yield* Effect.forEach(
        due,
        (p) =>
          resolveOne(p.id, nowMs).pipe(
            Effect.tap((r) => track(p, r, nowMs)),
            Effect.tap((r) => Metric.increment(Metric.tagged(reconciliations, "resolution", r)))
          ),
        { concurrency: o.concurrency }
      )
      const resolved: Record<Resolution, number> = {
        captured: 0,
        authorized: 0,
        failed: 0,
        refunded: 0,
        refund_failed: 0,
        capture_failed: 0,
        voided: 0,
        void_failed: 0,
        still_unknown: 0,
        skipped: 0,
        error: 0
      }
      for (const r of results) resolved[r] += 1
      const stuck = yield* unresolved
      yield* Metric.set(unresolvedGauge, stuck.length)
      if (stuck.length > 0) {
        yield* Effect.logError(`${stuck.length} payment(s) unresolved past the reconciliation deadline`).pipe(
          Effect.annotateLogs({ paymentIds: stuck.map((s) => s.paymentId).join(",") })
        )
      }
      return { examined: due.length, resolved }
    }).pipe(Effect.withSpan("Reconciler.runOnce"))

    return Reconciler.of({ runOnce, unresolved })
  })

/**
 * The reconciler alone: `runOnce` on demand.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Partial<Options> = {}) => Layer.effect(Reconciler, make(options))

/**
 * The reconciler running in the background: a pass on start, then one every `interval`, until the
 * Layer's scope closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRunning = (options: Partial<Options> = {}) =>
  Layer.scoped(
    Reconciler,
    Effect.gen(function* () {
      const service = yield* make(options)
      const interval = options.interval ?? defaults.interval
      yield* service.runOnce.pipe(Effect.repeat(Schedule.spaced(interval)), Effect.forkScoped)
      return service
    })
  )
