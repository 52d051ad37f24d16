/**
 * The orchestrator's metrics, through Effect's `Metric` (exported as Prometheus text or OTLP by
 * `Telemetry`).
 *
 * @since 0.1.0
 */
import { Duration, Effect, Metric, MetricBoundaries } from "effect"

const seconds = MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 16 })

/**
 * Payments by final status of a create, gateway and currency.
 *
 * @since 0.1.0
 * @category metrics
 */
export const payments = Metric.counter("aegispay_payments_total", {
  description: "Payments created, by status after the create call, gateway and currency"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const paymentDuration = Metric.histogram(
  "aegispay_payment_duration_seconds",
  seconds,
  "Time from the create call to its answer"
).pipe(Metric.mapInput((elapsed: Duration.Duration) => Duration.toSeconds(elapsed)))

/**
 * @since 0.1.0
 * @category metrics
 */
export const gatewayCallDuration = Metric.histogram(
  "aegispay_gateway_call_duration_seconds",
  seconds,
  "PSP call duration by gateway and outcome"
)

/**
 * @since 0.1.0
 * @category metrics
 */
export const gatewayCalls = Metric.counter("aegispay_gateway_calls_total", {
  description: "PSP calls by gateway and outcome"
})

/**
 * 0 closed, 1 half-open, 2 open.
 *
 * @since 0.1.0
 * @category metrics
 */
export const breakerState = Metric.gauge("aegispay_circuit_breaker_state", {
  description: "Circuit breaker state by gateway: 0 closed, 1 half-open, 2 open"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const retries = Metric.counter("aegispay_gateway_retries_total", {
  description: "Retries of PSP calls (same attempt, same idempotency key), by gateway"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const idempotentReplays = Metric.counter("aegispay_idempotent_replays_total", {
  description: "Requests answered from the idempotency store"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const outboxBacklog = Metric.gauge("aegispay_outbox_backlog", {
  description: "Outbox messages not yet published"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const outboxPublishDelay = Metric.histogram(
  "aegispay_outbox_publish_delay_seconds",
  seconds,
  "Time from commit to publish of an outbox message"
)

/**
 * Records one PSP call's duration and outcome.
 *
 * @since 0.1.0
 * @category recording
 */
export const recordGatewayCall = (gateway: string, outcome: string, elapsed: Duration.Duration) =>
  Effect.all(
    [
      Metric.update(
        gatewayCallDuration.pipe(Metric.tagged("gateway", gateway), Metric.tagged("outcome", outcome)),
        Duration.toSeconds(elapsed)
      ),
      Metric.update(
        gatewayCalls.pipe(Metric.tagged("gateway", gateway), Metric.tagged("outcome", outcome)),
        1
      )
    ],
    { discard: true }
  )
