/**
 * Idempotency: a client retries a create with the same Idempotency-Key and gets the same payment
 * back, marked as replayed; the same key with another body is refused; 20 concurrent requests with
 * one key charge once.
 *
 *   pnpm --filter @aegispay/example-orchestrator idempotency
 */
import { Currency, type Ids, Money } from "@aegispay/core"
import { PaymentService } from "aegispay"
import { Console, Context, Effect, Either } from "effect"
import { line, payment, run, start } from "./setup.js"

run(
  Effect.gen(function* () {
    const { context, simulators } = yield* start([{ id: "psp-1" }])
    const payments = Context.get(context, PaymentService.PaymentService)
    const key = "order-1001" as Ids.IdempotencyKey

    const first = yield* payments.create(payment({ idempotencyKey: key }))
    yield* Console.log(`first request:  ${line(first.value)}  replayed=${first.replayed}`)
    const again = yield* payments.create(payment({ idempotencyKey: key }))
    yield* Console.log(`same key again: ${line(again.value)}  replayed=${again.replayed}`)

    const other = yield* Effect.either(
      payments.create(payment({ idempotencyKey: key, amount: Money.make(1n, Currency.make("EUR")) }))
    )
    yield* Console.log(
      `same key, other body: ${Either.isLeft(other) ? `${other.left._tag}: ${other.left.message}` : "accepted?!"}`
    )

    const burst = yield* Effect.all(
      Array.from({ length: 20 }, () =>
        Effect.either(payments.create(payment({ idempotencyKey: "order-1002" as Ids.IdempotencyKey })))
      ),
      { concurrency: "unbounded" }
    )
    const ids = new Set(burst.flatMap((r) => (Either.isRight(r) ? [r.right.value.id] : [])))
    const inFlight = burst.filter((r) => Either.isLeft(r) && r.left._tag === "IdempotencyKeyInUse").length
    yield* Console.log(
      `20 concurrent requests with one key: ${ids.size} payment, ${inFlight} told "in flight, retry"`
    )
    const ledger = yield* simulators.get("psp-1")!.ledger
    yield* Console.log(`PSP ledger: ${ledger.length} PaymentIntents for 2 orders`)
  })
)
