/**
 * The events the infra suites append: a payment started with a test card, and later events of it.
 */
import { Card, Currency, Customer, Ids, Money, PaymentEvent } from "@aegispay/core"
import { DateTime } from "effect"

/** A `PaymentInitiated` for `paymentId`: EUR, visa 4242, automatic capture unless told otherwise. */
export const initiated = (
  paymentId: Ids.PaymentId,
  options: {
    readonly merchantId: string
    readonly amount?: bigint
    readonly at?: number
    readonly customer?: string
    readonly captureMethod?: PaymentEvent.CaptureMethod
  }
) =>
  new PaymentEvent.PaymentInitiated({
    paymentId,
    merchantId: options.merchantId as Ids.MerchantId,
    amount: Money.make(options.amount ?? 100n, Currency.make("EUR")),
    captureMethod: options.captureMethod ?? "automatic",
    customer: new Customer.Customer({ id: (options.customer ?? "c") as Ids.CustomerId }),
    card: new Card.CardSummary({ brand: "visa", last4: "4242", expMonth: 1, expYear: 2030 }),
    metadata: {},
    at: DateTime.unsafeMake(options.at ?? 0)
  })

/** A `PaymentAuthenticated` at `at` (epoch milliseconds). */
export const authenticated = (at: number) =>
  new PaymentEvent.PaymentAuthenticated({ at: DateTime.unsafeMake(at) })
