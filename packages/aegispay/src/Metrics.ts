/**
 * The orchestrator's metrics, through Effect's `Metric` (exported as Prometheus text or OTLP by
 * `Telemetry`).
 *
 * @since 0.1.0
 */
import { Outbox } from "@aegispay/core"
import { Clock, Duration, Effect, Metric, MetricBoundaries, Schedule } from "effect"

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
  description: "Outbox messages not yet published, by state (pending, dead_lettered)"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const outboxOldestPendingAge = Metric.gauge("aegispay_outbox_oldest_pending_age_seconds", {
  description: "Age of the oldest outbox message not yet published"
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

/**
 * A publisher that records, for every message it delivers, the time from the event's commit
 * (`recordedAt` in the payload) to its publication.
 *
 * @since 0.1.0
 * @category recording
 */
export const measuredPublisher = (publisher: Outbox.Publisher["Type"]): Outbox.Publisher["Type"] => ({
  name: publisher.name,
  publish: (message) =>
    Effect.tap(publisher.publish(message), () =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const recordedAt = recordedAtOf(message.payload)
        return recordedAt === undefined
          ? Effect.void
          : Metric.update(outboxPublishDelay, Math.max(0, now - recordedAt) / 1000)
      })
    )
})

const recordedAtOf = (payload: string): number | undefined => {
  try {
    const raw = (JSON.parse(payload) as { readonly recordedAt?: unknown }).recordedAt
    const at = typeof raw === "string" ? Date.parse(raw) : Number.NaN
    return Number.isNaN(at) ? undefined : at
  } catch {
    return undefined
  }
}

/**
 * Samples the outbox backlog into `aegispay_outbox_backlog` and
 * `aegispay_outbox_oldest_pending_age_seconds` every `interval`, forever (fork it in a scope). A
 * failed sample is logged and the next one tried.
 *
 * @since 0.1.0
 * @category recording
 */
export const sampleOutboxBacklog = (interval: Duration.DurationInput) =>
  Effect.flatMap(Outbox.Outbox, (outbox) =>
    outbox.backlog.pipe(
      Effect.flatMap((b) =>
        Effect.all(
          [
            Metric.set(Metric.tagged(outboxBacklog, "state", "pending"), b.pending),
            Metric.set(Metric.tagged(outboxBacklog, "state", "dead_lettered"), b.deadLettered),
            Metric.set(outboxOldestPendingAge, b.oldestPendingAgeMillis / 1000)
          ],
          { discard: true }
        )
      ),
      Effect.catchAll((e) => Effect.logWarning("outbox backlog sample failed", e)),
      Effect.repeat(Schedule.spaced(interval)),
      Effect.asVoid
    )
  )
