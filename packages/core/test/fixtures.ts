import { Card, Currency, Customer, Ids, Money, PaymentCommand } from "@aegispay/core"
import { DateTime } from "effect"

export const paymentId = "pay_01J9Z8X6Q2M4T7V3B5N8R1K0CD" as Ids.PaymentId
export const merchantId = "merchant_1" as Ids.MerchantId
export const gatewayA = "stripe-eu" as Ids.GatewayId
export const gatewayB = "adyen-us" as Ids.GatewayId
export const refundIds = [
  "re_01J9Z8X6Q2M4T7V3B5N8R1K0C0",
  "re_01J9Z8X6Q2M4T7V3B5N8R1K0C1",
  "re_01J9Z8X6Q2M4T7V3B5N8R1K0C2"
].map((id) => id as Ids.RefundId)

export const at = (seconds: number) => DateTime.unsafeMake(1_700_000_000_000 + seconds * 1000)

export const card = new Card.CardSummary({ brand: "visa", last4: "4242", expMonth: 12, expYear: 2030 })
export const customer = new Customer.Customer({
  id: "cus_1" as Ids.CustomerId,
  country: "DE" as Customer.CountryCode
})

export const create = (amount = 10_000n, captureMethod: "automatic" | "manual" = "automatic", t = 0) =>
  new PaymentCommand.CreatePayment({
    paymentId,
    merchantId,
    amount: Money.make(amount, Currency.make("EUR")),
    captureMethod,
    customer,
    card,
    metadata: { order: "o-1" },
    at: at(t)
  })
