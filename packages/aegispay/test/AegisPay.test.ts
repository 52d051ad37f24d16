import { Card, Currency, Customer, Gateway, type Ids, Money } from "@aegispay/core"
import { EventBus } from "@aegispay/infra"
import { assert, describe, it } from "@effect/vitest"
import { AegisPay, GatewaySetup, PaymentService, Reconciler } from "aegispay"
import { Chunk, Context, Effect, Fiber, Layer, Logger, LogLevel, Schema, Stream } from "effect"

const input = (number: string): PaymentService.CreatePaymentInput => ({
  merchantId: "m_layer" as Ids.MerchantId,
  amount: Money.make(4_200n, Currency.make("USD")),
  customer: new Customer.Customer({ id: "cus_layer" as Ids.CustomerId }),
  card: Schema.decodeUnknownSync(Card.CardDetails)({ number, expMonth: 9, expYear: 2031, cvc: "123" })
})

describe("AegisPay.layer", () => {
  it.scopedLive(
    "layerTest: in-memory stores, three simulated PSPs, the relay to the bus, the reconciler on demand",
    () =>
      Effect.gen(function* () {
        const context = yield* Layer.build(
          AegisPay.layerTest().pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Error)))
        )
        const setup = Context.get(context, GatewaySetup.GatewaySetup)
        assert.isTrue(setup.simulated)
        assert.strictEqual((yield* Context.get(context, Gateway.GatewayRegistry).all).length, 3)

        const events = yield* Context.get(context, EventBus.EventBus).subscribe(
          "PaymentCaptured",
          "PaymentFailed"
        )
        const seen = yield* Effect.fork(Stream.runCollect(Stream.take(events, 2)))
        const payments = Context.get(context, PaymentService.PaymentService)
        const ok = yield* payments.create(input("4242424242424242"))
        const declined = yield* payments.create(input("4000000000000069"))
        assert.deepStrictEqual([ok.value.status, declined.value.status], ["succeeded", "failed"])
        assert.strictEqual(declined.value.failure?.code, "expired_card")
        const published = yield* Fiber.join(seen).pipe(Effect.timeout("10 seconds"))
        assert.deepStrictEqual(
          Chunk.toReadonlyArray(published)
            .map((m) => m.streamId)
            .sort(),
          [ok.value.id, declined.value.id].sort()
        )
        const report = yield* Context.get(context, Reconciler.Reconciler).runOnce
        assert.deepStrictEqual(yield* Context.get(context, Reconciler.Reconciler).unresolved, [])
        assert.isDefined(report)
      }),
    60_000
  )
})
