/**
 * How the orchestrator calls a PSP: through that gateway's circuit breaker, its retry policy and
 * the health monitor; and what the router sees of each gateway. The default implementation over
 * `@aegispay/resilience` is `GatewayGuard.layer`.
 *
 * @since 0.1.0
 */
import type { Gateway, Ids } from "@aegispay/core"
import { GatewayError } from "@aegispay/core"
import { CircuitBreaker, HealthMonitor, RetryPolicy } from "@aegispay/resilience"
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Layer,
  Metric,
  Option,
  Schedule,
  ScheduleDecision,
  Schema
} from "effect"
import * as Metrics from "./Metrics.js"
import type * as Routing from "./Routing.js"

/**
 * The gateway was not called: its breaker is open, or its bulkhead is full.
 *
 * @since 0.1.0
 * @category errors
 */
export class GatewayRefused extends Schema.TaggedError<GatewayRefused>("aegispay/GatewayRefused")(
  "GatewayRefused",
  {
    gateway: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `${this.gateway} was not called: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Runs one PSP call through the gateway's breaker and retry policy, recording its outcome. */
  readonly call: <A>(
    gateway: Ids.GatewayId,
    effect: Effect.Effect<A, GatewayError.GatewayError>
  ) => Effect.Effect<A, GatewayError.GatewayError | GatewayRefused>
  readonly snapshot: (gateway: Gateway.Gateway) => Effect.Effect<Routing.GatewaySnapshot>
  /** The full health of a gateway (for operators and the health endpoint). */
  readonly health: (gateway: Ids.GatewayId) => Effect.Effect<HealthMonitor.Snapshot>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class GatewayGuard extends Context.Tag("aegispay/GatewayGuard")<GatewayGuard, Service>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly breaker?: CircuitBreaker.Options
  /** Retries of one attempt (same idempotency key) on `Retryable` errors only. */
  readonly retry?: Omit<RetryPolicy.Options<GatewayError.GatewayError>, "retryable" | "retryAfter">
  readonly health?: HealthMonitor.Options
}

/**
 * Declines are the customer's outcome, not the PSP's failure: they never trip a breaker.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isCustomerOutcome = (error: unknown): boolean =>
  GatewayError.GatewayError.members.some((m) => error instanceof m) &&
  ((error as GatewayError.GatewayError)._tag === "HardDecline" ||
    (error as GatewayError.GatewayError)._tag === "SoftDecline")

const outcomeOf = (error: GatewayError.GatewayError | CircuitBreaker.CircuitOpen | undefined) =>
  error === undefined ? "success" : error._tag

/**
 * The guard over `@aegispay/resilience`: per gateway, a circuit breaker (declines ignored), retries
 * of `Retryable` errors with the same request (so the same idempotency key), `Retry-After`
 * honoured, health recorded per call, and the gateway metrics.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function* () {
    const breaker = yield* CircuitBreaker.CircuitBreaker
    const health = yield* HealthMonitor.HealthMonitor
    const policy = RetryPolicy.make<GatewayError.GatewayError | GatewayRefused>({
      maxAttempts: 3,
      initialDelay: "100 millis",
      maxDelay: "2 seconds",
      ...options.retry,
      retryable: (e) => e._tag === "Retryable",
      retryAfter: (e) => (e._tag === "Retryable" ? Option.fromNullable(e.retryAfter) : Option.none())
    })

    const call: Service["call"] = (gateway, effect) => {
      const once = Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(breaker.protect(gateway)(effect))
        const elapsed = Duration.millis((yield* Clock.currentTimeMillis) - start)
        const error =
          exit._tag === "Failure" ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        if (error?._tag !== "CircuitOpen")
          yield* health.record(gateway, { latency: elapsed, error: error?._tag })
        yield* Metrics.recordGatewayCall(gateway, outcomeOf(error), elapsed)
        return yield* exit
      }).pipe(
        Effect.catchTag("CircuitOpen", (e) =>
          Effect.fail(
            new GatewayRefused({
              gateway,
              reason: `circuit open; retry after ${Math.ceil(e.retryAfterMillis)} ms`
            })
          )
        )
      )
      const countRetry = Metric.update(Metrics.retries.pipe(Metric.tagged("gateway", gateway)), 1)
      // count a retry only when the policy decides to go on, not on the failure that ends the retries
      return Effect.retry(
        once,
        policy.pipe(
          Schedule.onDecision((_, decision) =>
            ScheduleDecision.isContinue(decision) ? countRetry : Effect.void
          )
        )
      )
    }

    const snapshot: Service["snapshot"] = (g) =>
      Effect.gen(function* () {
        const state = yield* breaker.state(g.id)
        const h = yield* health.snapshot(g.id, state)
        yield* Metric.set(
          Metrics.breakerState.pipe(Metric.tagged("gateway", g.id)),
          state === "closed" ? 0 : state === "half_open" ? 1 : 2
        )
        return {
          id: g.id,
          fees: g.fees,
          circuit: state,
          successRate: h.successRate,
          latencyP95: h.latency.p95,
          score: h.score
        }
      })

    const gatewayHealth: Service["health"] = (gateway) =>
      Effect.flatMap(breaker.state(gateway), (state) => health.snapshot(gateway, state))

    return GatewayGuard.of({ call, snapshot, health: gatewayHealth })
  })

/**
 * The guard with its own breakers and health monitor.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}) =>
  Layer.effect(GatewayGuard, make(options)).pipe(
    Layer.provide(
      Layer.merge(
        CircuitBreaker.layer({ isIgnored: isCustomerOutcome, ...options.breaker }),
        HealthMonitor.layer(options.health)
      )
    )
  )
