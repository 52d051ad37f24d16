/**
 * Branded identifiers, and the `Ids` service that makes new ones (time-ordered, so cursors and
 * logs sort by creation), with a seeded Layer for replayable tests.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Random, Schema } from "effect"

const prefixed = <B extends string>(prefix: string, brand: B) =>
  Schema.String.pipe(
    Schema.pattern(new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`), {
      message: () => `expected a ${brand} such as ${prefix}_01J9Z8X6Q2M4T7V3B5N8R1K0CD`
    }),
    Schema.brand(brand)
  )

const name = (brand: string, max: number) =>
  Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, {
      message: () =>
        `expected ${brand}: letters, digits, "_", ".", ":" or "-", starting with a letter or digit`
    }),
    Schema.maxLength(max, { message: () => `${brand} is longer than ${max} characters` })
  )

/**
 * @since 0.1.0
 * @category schemas
 */
export const PaymentId = prefixed("pay", "PaymentId")
/**
 * @since 0.1.0
 * @category models
 */
export type PaymentId = typeof PaymentId.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const RefundId = prefixed("re", "RefundId")
/**
 * @since 0.1.0
 * @category models
 */
export type RefundId = typeof RefundId.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const EventId = prefixed("evt", "EventId")
/**
 * @since 0.1.0
 * @category models
 */
export type EventId = typeof EventId.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const MerchantId = name("a merchant id", 64).pipe(Schema.brand("MerchantId"))
/**
 * @since 0.1.0
 * @category models
 */
export type MerchantId = typeof MerchantId.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const GatewayId = name("a gateway id", 64).pipe(Schema.brand("GatewayId"))
/**
 * @since 0.1.0
 * @category models
 */
export type GatewayId = typeof GatewayId.Type

/**
 * The merchant's own id of its customer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CustomerId = Schema.String.pipe(
  Schema.minLength(1, { message: () => "a customer id must not be empty" }),
  Schema.maxLength(255, { message: () => "a customer id is at most 255 characters" }),
  Schema.brand("CustomerId")
)
/**
 * @since 0.1.0
 * @category models
 */
export type CustomerId = typeof CustomerId.Type

/**
 * A client's idempotency key (as Stripe's: up to 255 printable ASCII characters).
 *
 * @since 0.1.0
 * @category schemas
 */
export const IdempotencyKey = Schema.String.pipe(
  Schema.pattern(/^[\x21-\x7e]{1,255}$/, {
    message: () => "an idempotency key is 1 to 255 printable ASCII characters without spaces"
  }),
  Schema.brand("IdempotencyKey")
)
/**
 * @since 0.1.0
 * @category models
 */
export type IdempotencyKey = typeof IdempotencyKey.Type

/**
 * The idempotency key AegisPay sends to a PSP for one attempt: `<paymentId>:<attempt>`. Retries of
 * the same attempt reuse it, so a PSP never charges one attempt twice.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AttemptKey = Schema.String.pipe(
  Schema.pattern(/^pay_[0-9A-HJKMNP-TV-Z]{26}:[1-9][0-9]*$/),
  Schema.brand("AttemptKey")
)
/**
 * @since 0.1.0
 * @category models
 */
export type AttemptKey = typeof AttemptKey.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const attemptKey = (paymentId: PaymentId, attempt: number): AttemptKey =>
  `${paymentId}:${attempt}` as AttemptKey

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/**
 * A ULID body: 10 characters of milliseconds and 16 of randomness, in Crockford base 32.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ulid = (millis: number, random: ReadonlyArray<number>): string => {
  let time = ""
  let t = Math.max(0, Math.floor(millis))
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time
    t = Math.floor(t / 32)
  }
  let rest = ""
  for (let i = 0; i < 16; i++) rest += CROCKFORD[(random[i] ?? 0) & 31]
  return time + rest
}

/**
 * Makes new identifiers.
 *
 * @since 0.1.0
 * @category tags
 */
export class Ids extends Context.Tag("@aegispay/core/Ids")<
  Ids,
  {
    readonly paymentId: Effect.Effect<PaymentId>
    readonly refundId: Effect.Effect<RefundId>
    readonly eventId: Effect.Effect<EventId>
  }
>() {}

const fromSource = (randomBytes: Effect.Effect<ReadonlyArray<number>>) => {
  const next = <A>(prefix: string) =>
    Effect.zipWith(Clock.currentTimeMillis, randomBytes, (ms, bytes) => `${prefix}_${ulid(ms, bytes)}` as A)
  return Ids.of({ paymentId: next("pay"), refundId: next("re"), eventId: next("evt") })
}

/**
 * Ids from the operating system's cryptographic random source and the `Clock`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Ids> = Layer.sync(Ids, () =>
  fromSource(Effect.sync(() => Array.from(globalThis.crypto.getRandomValues(new Uint8Array(16)))))
)

/**
 * Ids from Effect's `Random` service: replayable under `Random` seeded by the test (and `TestClock`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRandom: Layer.Layer<Ids> = Layer.succeed(
  Ids,
  fromSource(Effect.all(Array.from({ length: 16 }, () => Random.nextIntBetween(0, 32))))
)
