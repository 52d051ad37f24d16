/**
 * Extension points of the payment flow: pre-validation, fraud checks, routing, event listeners and
 * before/after lifecycle hooks. Every hook runs with a timeout. A hook that fails or times out is
 * handled by its own policy (fraud: fail-open or fail-closed); a failing listener never breaks a
 * payment. Hooks only ever see the card's brand and last four digits.
 *
 * @since 0.1.0
 */
import type { Card, Customer, Ids, Money, PaymentEvent } from "@aegispay/core"
import { Context, Duration, Effect, FiberSet, Layer, Option, Schema, type Scope } from "effect"
import type * as Routing from "./Routing.js"

/**
 * What hooks know of a payment: never the card number or CVC.
 *
 * @since 0.1.0
 * @category models
 */
export interface PaymentContext {
  readonly paymentId: Ids.PaymentId
  readonly merchantId: Ids.MerchantId
  readonly amount: Money.Money
  readonly customer: Customer.Customer
  readonly card: Card.CardSummary
  readonly captureMethod: PaymentEvent.CaptureMethod
  readonly metadata: Readonly<Record<string, string>>
}

/**
 * A hook refused the payment (recorded as `failed` with this code and message).
 *
 * @since 0.1.0
 * @category errors
 */
export class HookRejection extends Schema.TaggedError<HookRejection>("aegispay/HookRejection")(
  "HookRejection",
  {
    hook: Schema.String,
    code: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `${this.hook}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FraudVerdict {
  readonly allow: boolean
  /** Risk in [0, 1]. */
  readonly score: number
  readonly reason: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PreValidationHook {
  readonly name: string
  readonly validate: (payment: PaymentContext) => Effect.Effect<void, HookRejection>
  readonly timeout?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FraudHook {
  readonly name: string
  readonly check: (payment: PaymentContext) => Effect.Effect<FraudVerdict, unknown>
  /** What an error or timeout of the check means: `open` lets the payment through, `closed` blocks it. */
  readonly failMode: "open" | "closed"
  readonly timeout?: Duration.DurationInput
}

/**
 * May replace the router's ranking (return `None` to keep it).
 *
 * @since 0.1.0
 * @category models
 */
export interface RoutingHook {
  readonly name: string
  readonly route: (
    request: Routing.RoutingRequest,
    candidates: ReadonlyArray<Routing.GatewaySnapshot>,
    proposed: Routing.Ranking
  ) => Effect.Effect<Option.Option<Routing.Ranking>, unknown>
  readonly timeout?: Duration.DurationInput
}

/**
 * Told about every event appended to a payment, after the append.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventListener {
  readonly name: string
  readonly onEvent: (
    paymentId: Ids.PaymentId,
    event: PaymentEvent.PaymentEvent
  ) => Effect.Effect<void, unknown>
  readonly timeout?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category models
 */
export type Operation = "create" | "capture" | "cancel" | "refund"

/**
 * `before` may refuse an operation; `after` is told of its result and cannot break it.
 *
 * @since 0.1.0
 * @category models
 */
export interface LifecycleHook {
  readonly name: string
  readonly before?: (operation: Operation, paymentId: Ids.PaymentId) => Effect.Effect<void, HookRejection>
  readonly after?: (
    operation: Operation,
    paymentId: Ids.PaymentId,
    status: string
  ) => Effect.Effect<void, unknown>
  readonly timeout?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Config {
  readonly preValidation?: ReadonlyArray<PreValidationHook>
  readonly fraud?: ReadonlyArray<FraudHook>
  readonly routing?: ReadonlyArray<RoutingHook>
  readonly listeners?: ReadonlyArray<EventListener>
  readonly lifecycle?: ReadonlyArray<LifecycleHook>
  /** Timeout of a hook that sets none (default 2 seconds). */
  readonly defaultTimeout?: Duration.DurationInput
}

/**
 * The outcome of the fraud checks.
 *
 * @since 0.1.0
 * @category models
 */
export type FraudOutcome =
  | { readonly _tag: "Allow"; readonly score: number; readonly reason: string }
  | { readonly _tag: "Deny"; readonly hook: string; readonly score: number; readonly reason: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly preValidate: (payment: PaymentContext) => Effect.Effect<void, HookRejection>
  readonly checkFraud: (payment: PaymentContext) => Effect.Effect<FraudOutcome>
  readonly route: (
    request: Routing.RoutingRequest,
    candidates: ReadonlyArray<Routing.GatewaySnapshot>,
    proposed: Routing.Ranking
  ) => Effect.Effect<Routing.Ranking>
  /** Runs listeners in the background; never fails, never waits for them. */
  readonly publish: (
    paymentId: Ids.PaymentId,
    events: ReadonlyArray<PaymentEvent.PaymentEvent>
  ) => Effect.Effect<void>
  readonly before: (operation: Operation, paymentId: Ids.PaymentId) => Effect.Effect<void, HookRejection>
  readonly after: (operation: Operation, paymentId: Ids.PaymentId, status: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Hooks extends Context.Tag("aegispay/Hooks")<Hooks, Service>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: Config): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const background = yield* FiberSet.make()
    const fallback = Duration.decode(config.defaultTimeout ?? "2 seconds")
    const within = <A, E>(timeout: Duration.DurationInput | undefined, effect: Effect.Effect<A, E>) =>
      Effect.timeoutFail(effect, { duration: timeout ?? fallback, onTimeout: () => "timeout" as const })
    const quietly = (hook: string, kind: string, effect: Effect.Effect<unknown, unknown>) =>
      effect.pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`${kind} hook "${hook}" failed; the payment goes on`).pipe(
            Effect.annotateLogs({ hook, cause: String(cause).slice(0, 500) })
          )
        ),
        Effect.asVoid
      )

    const preValidate = (payment: PaymentContext) =>
      Effect.forEach(
        config.preValidation ?? [],
        (hook) =>
          within(hook.timeout, hook.validate(payment)).pipe(
            Effect.catchAll((e) =>
              e === "timeout"
                ? Effect.fail(
                    new HookRejection({
                      hook: hook.name,
                      code: "validation_timeout",
                      reason: "validation timed out"
                    })
                  )
                : Effect.fail(e)
            )
          ),
        { discard: true }
      )

    const checkFraud = (payment: PaymentContext): Effect.Effect<FraudOutcome> =>
      Effect.gen(function* () {
        let worst = 0
        const reasons: Array<string> = []
        for (const hook of config.fraud ?? []) {
          const verdict = yield* within(hook.timeout, hook.check(payment)).pipe(
            Effect.map(Option.some),
            Effect.catchAllCause((cause) =>
              Effect.logWarning(`fraud hook "${hook.name}" failed; failing ${hook.failMode}`).pipe(
                Effect.annotateLogs({ hook: hook.name, cause: String(cause).slice(0, 500) }),
                Effect.as(Option.none<FraudVerdict>())
              )
            )
          )
          if (Option.isNone(verdict)) {
            if (hook.failMode === "closed") {
              return {
                _tag: "Deny",
                hook: hook.name,
                score: 1,
                reason: `${hook.name} unavailable (fail-closed)`
              } as const
            }
            reasons.push(`${hook.name} unavailable (fail-open)`)
            continue
          }
          const score = Math.min(1, Math.max(0, verdict.value.score))
          if (!verdict.value.allow)
            return { _tag: "Deny", hook: hook.name, score, reason: verdict.value.reason } as const
          worst = Math.max(worst, score)
          reasons.push(`${hook.name}: ${verdict.value.reason}`)
        }
        return {
          _tag: "Allow",
          score: worst,
          reason: reasons.join("; ") || "no fraud checks configured"
        } as const
      })

    const route: Service["route"] = (request, candidates, proposed) =>
      Effect.reduce(config.routing ?? [], proposed, (ranking, hook) =>
        within(hook.timeout, hook.route(request, candidates, ranking)).pipe(
          Effect.map(Option.getOrElse(() => ranking)),
          Effect.catchAllCause((cause) =>
            Effect.logWarning(`routing hook "${hook.name}" failed; keeping the router's order`).pipe(
              Effect.annotateLogs({ hook: hook.name, cause: String(cause).slice(0, 500) }),
              Effect.as(ranking)
            )
          )
        )
      )

    const publish: Service["publish"] = (paymentId, events) =>
      (config.listeners ?? []).length === 0
        ? Effect.void
        : FiberSet.run(
            background,
            Effect.forEach(
              config.listeners ?? [],
              (listener) =>
                Effect.forEach(events, (event) =>
                  quietly(
                    listener.name,
                    "listener",
                    within(listener.timeout, listener.onEvent(paymentId, event))
                  )
                ),
              { discard: true, concurrency: "unbounded" }
            )
          ).pipe(Effect.asVoid)

    const before: Service["before"] = (operation, paymentId) =>
      Effect.forEach(
        (config.lifecycle ?? []).flatMap((h) =>
          h.before ? [{ name: h.name, run: h.before, timeout: h.timeout }] : []
        ),
        (hook) =>
          within(hook.timeout, hook.run(operation, paymentId)).pipe(
            Effect.catchAll((e) =>
              e === "timeout"
                ? Effect.fail(
                    new HookRejection({
                      hook: hook.name,
                      code: "hook_timeout",
                      reason: "lifecycle hook timed out"
                    })
                  )
                : Effect.fail(e)
            )
          ),
        { discard: true }
      )

    const after: Service["after"] = (operation, paymentId, status) =>
      Effect.forEach(
        (config.lifecycle ?? []).flatMap((h) =>
          h.after ? [{ name: h.name, run: h.after, timeout: h.timeout }] : []
        ),
        (hook) => quietly(hook.name, "after", within(hook.timeout, hook.run(operation, paymentId, status))),
        { discard: true }
      )

    return Hooks.of({ preValidate, checkFraud, route, publish, before, after })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: Config): Layer.Layer<Hooks> => Layer.scoped(Hooks, make(config))

/**
 * No hooks.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNone: Layer.Layer<Hooks> = layer({})
