/**
 * The signed-webhook publisher: POSTs each outbox message's payload to a URL with an
 * `AegisPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` header (the scheme
 * Stripe uses), the event id, type, correlation id and the payment's trace parent as
 * `AegisPay-<name>` headers (the standard `traceparent` is the delivery's own span), retrying a failed
 * delivery with backoff. `verify` is what a receiver runs.
 *
 * @since 0.1.0
 */
import { Outbox } from "@aegispay/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Clock, Duration, Effect, Redacted, Schedule } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly url: string
  readonly secret: Redacted.Redacted<string>
  /** Per delivery (default 5 s). */
  readonly timeout?: Duration.DurationInput
  /** Deliveries in all before the relay sees a failure (default 3); the relay then retries later. */
  readonly attempts?: number
}

/**
 * The signature of `body` at `timestamp` (unix seconds).
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (secret: Redacted.Redacted<string>, timestamp: number, body: string): string =>
  createHmac("sha256", Redacted.value(secret)).update(`${timestamp}.${body}`).digest("hex")

/**
 * Checks an `AegisPay-Signature` header: right signature, and a timestamp within `toleranceSeconds`
 * of `nowSeconds` (replay protection). Constant-time comparison.
 *
 * @since 0.1.0
 * @category signing
 */
export const verify = (
  secret: Redacted.Redacted<string>,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300
): boolean => {
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=", 2) as [string, string]))
  const t = Number(parts["t"])
  const v1 = parts["v1"] ?? ""
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(v1))
    return false
  return timingSafeEqual(Buffer.from(sign(secret, t, body), "hex"), Buffer.from(v1, "hex"))
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options) =>
  Effect.map(HttpClient.HttpClient, (client): Outbox.Publisher["Type"] => ({
    name: `webhook ${new URL(options.url).host}`,
    publish: (message) =>
      Effect.gen(function* () {
        const t = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const request = HttpClientRequest.post(options.url).pipe(
          HttpClientRequest.setHeaders({
            ...Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [`aegispay-${k}`, v])),
            ...(message.headers["traceparent"] !== undefined
              ? { traceparent: message.headers["traceparent"] }
              : {}),
            "aegispay-signature": `t=${t},v1=${sign(options.secret, t, message.payload)}`
          }),
          HttpClientRequest.bodyText(message.payload, "application/json")
        )
        const response = yield* client
          .execute(request)
          .pipe(Effect.scoped, Effect.timeout(options.timeout ?? "5 seconds"))
        if (response.status < 200 || response.status >= 300) {
          return yield* new Outbox.PublishError({
            publisher: "webhook",
            reason: `the endpoint answered ${response.status}`
          })
        }
      }).pipe(
        Effect.mapError((e) =>
          e instanceof Outbox.PublishError
            ? e
            : new Outbox.PublishError({ publisher: "webhook", reason: "delivery failed", cause: e })
        ),
        Effect.retry({
          schedule: Schedule.exponential("100 millis"),
          times: Math.max(0, (options.attempts ?? 3) - 1)
        }),
        Effect.withSpan("Webhook.publish", { attributes: { eventId: message.eventId } })
      )
  }))
