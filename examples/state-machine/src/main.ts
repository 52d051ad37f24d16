/**
 * Drives payments through the pure Payment aggregate: every command is decided, every event applied,
 * and the state printed after each step. Also shows money parsing, fees and allocation.
 *
 *   pnpm --filter @aegispay/example-state-machine start
 */
import {
  Card,
  Currency,
  Customer,
  Failure,
  Fee,
  Ids,
  Money,
  Payment,
  PaymentCommand as C,
  PaymentEvent
} from "@aegispay/core"
import { Console, DateTime, Effect, Either, Schema } from "effect"

const program = Effect.gen(function* () {
  const ids = yield* Ids.Ids
  const paymentId = yield* ids.paymentId
  const refundId = yield* ids.refundId
  const now = yield* DateTime.now
  const at = (seconds: number) => DateTime.add(now, { seconds })

  const amount = yield* Money.parse("49.90", "EUR")
  const card = Card.summarize(
    yield* Schema.decodeUnknown(Card.CardDetails)({
      number: "4242424242424242",
      expMonth: 12,
      expYear: 2030,
      cvc: "123"
    })
  )
  yield* Console.log(
    `Payment ${paymentId}: ${Money.format(amount)} ${amount.currency} on ${card.brand} •••• ${card.last4}\n`
  )

  const commands: ReadonlyArray<C.PaymentCommand> = [
    new C.CreatePayment({
      paymentId,
      merchantId: "merchant_demo" as Ids.MerchantId,
      amount,
      captureMethod: "automatic",
      customer: new Customer.Customer({
        id: "cus_42" as Ids.CustomerId,
        country: "DE" as Customer.CountryCode
      }),
      card,
      metadata: { order: "order-1001" },
      at: at(0)
    }),
    new C.AuthenticatePayment({ at: at(1) }),
    new C.StartAttempt({ gateway: "stripe-eu" as Ids.GatewayId, at: at(2) }),
    new C.FailAttempt({
      attempt: 1,
      failure: new Failure.Failure({
        code: "processing_error",
        message: "PSP busy",
        category: "soft_decline"
      }),
      at: at(3)
    }),
    new C.StartAttempt({ gateway: "adyen-eu" as Ids.GatewayId, at: at(4) }),
    new C.CompleteAttempt({ attempt: 2, gatewayReference: "psp_8815", at: at(5) }),
    new C.RequestRefund({ refundId, amount: 1990n, reason: "one item returned", at: at(6) }),
    new C.CompleteRefund({ refundId, gatewayReference: "re_psp_1", at: at(7) }),
    new C.CapturePayment({ at: at(8) }) // not valid any more: a typed InvalidTransition
  ]

  let state: Payment.State = Payment.initial
  const log: Array<PaymentEvent.PaymentEvent> = []
  for (const command of commands) {
    const decided = Payment.decide(state, command)
    if (Either.isLeft(decided)) {
      yield* Console.log(
        `  ✗ ${command._tag.padEnd(26)} rejected: ${decided.left._tag}: ${decided.left.message}`
      )
      continue
    }
    state = Payment.replay(decided.right, state)
    log.push(...decided.right)
    const money = Payment.exists(state)
      ? `captured ${state.amountCaptured}, refunded ${state.amountRefunded}`
      : ""
    yield* Console.log(
      `  ✓ ${command._tag.padEnd(26)} → ${decided.right
        .map((e) => e._tag)
        .join(", ")
        .padEnd(22)} status=${state.status.padEnd(18)} v${state.version} ${money}`
    )
  }

  const replayed = Payment.replay(log)
  yield* Console.log(
    `\nReplaying ${log.length} events gives the same state: ${replayed.status} v${replayed.version}`
  )
  if (Payment.exists(state)) {
    yield* Console.log(`Attempt keys sent to PSPs: ${state.attempts.map((a) => a.idempotencyKey).join(", ")}`)
  }

  const schedule = new Fee.FeeSchedule({ bps: 290, fixed: 30n, rounding: "half-even" })
  const fee = Fee.compute(amount, schedule)
  yield* Console.log(
    `\nFee at ${Fee.describe(schedule, amount.currency)}: ${Money.format(fee.fee)}, net ${Money.format(fee.net)}`
  )
  const split = yield* Fee.allocate(amount, [1, 1, 1])
  yield* Console.log(`Split three ways: ${split.map(Money.format).join(" + ")} = ${Money.format(amount)}`)
  const kwd = yield* Money.parse("1.234", "KWD")
  yield* Console.log(`KWD has ${Currency.exponent(kwd.currency)} decimals: 1.234 KWD = ${kwd.amount} fils`)
  const bad = Money.parse("12.345", "USD")
  if (Either.isLeft(bad)) yield* Console.log(`Parsing "12.345" USD: ${bad.left.message}`)
})

program.pipe(Effect.provide(Ids.layer), Effect.runPromise).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
