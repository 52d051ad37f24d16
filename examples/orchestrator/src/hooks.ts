/**
 * Hooks: a pre-validation rule, a fraud check that denies (with its risk score and reason, and no
 * PSP called), a fraud service that is down (fail-open), an event listener that crashes without
 * breaking anything, and an after-hook.
 *
 *   pnpm --filter @aegispay/example-orchestrator hooks
 */
import { Currency, Customer, type Ids, Money } from "@aegispay/core"
import { Hooks, PaymentService } from "aegispay"
import { Console, Context, Effect } from "effect"
import { line, payment, run, start } from "./setup.js"

const hooks: Hooks.Config = {
  preValidation: [
    {
      name: "max-amount",
      validate: (p) =>
        p.amount.amount > 100_000n
          ? Effect.fail(
              new Hooks.HookRejection({
                hook: "max-amount",
                code: "amount_too_high",
                reason: "orders over 1,000.00 need review"
              })
            )
          : Effect.void
    }
  ],
  fraud: [
    {
      name: "velocity",
      failMode: "closed",
      check: (p) =>
        Effect.succeed(
          p.customer.id === "cus_fraudster"
            ? { allow: false, score: 0.97, reason: "12 cards tried in 5 minutes" }
            : { allow: true, score: 0.08, reason: "normal velocity" }
        )
    },
    {
      name: "external-scoring",
      failMode: "open",
      timeout: "200 millis",
      check: () => Effect.fail("scoring service unreachable")
    }
  ],
  listeners: [{ name: "buggy-analytics", onEvent: () => Effect.die("analytics bug") }],
  lifecycle: [{ name: "audit", after: (op, id, status) => Console.log(`   [after ${op}] ${id} → ${status}`) }]
}

run(
  Effect.gen(function* () {
    const { context } = yield* start([{ id: "psp-1" }], { hooks })
    const payments = Context.get(context, PaymentService.PaymentService)
    const show = (label: string, input: Parameters<typeof payment>[0]) =>
      Effect.flatMap(payments.create(payment(input)), ({ value }) =>
        Console.log(
          `${label}\n   ${line(value)}${value.failure ? `: ${value.failure.message}` : ""}${value.risk ? `  risk ${value.risk.score}` : ""}`
        )
      )
    yield* show(
      "A normal payment (the external scorer is down: fail-open; the analytics listener crashes: ignored)",
      {}
    )
    yield* show("Blocked by pre-validation", { amount: Money.make(250_000n, Currency.make("EUR")) })
    yield* show("Denied by the fraud check, no PSP called", {
      customer: new Customer.Customer({ id: "cus_fraudster" as Ids.CustomerId })
    })
  })
)
