/**
 * Routing and failover: three PSP accounts with different fees; the router ranks them by cost for
 * each payment and stores why. A soft decline moves on to the next one; an ambiguous outcome (a lost
 * response) never does: the reconciler asks that same PSP by the attempt key, and nothing is charged
 * twice.
 *
 *   pnpm --filter @aegispay/example-orchestrator routing-failover
 */
import { Console, Context, Effect } from "effect"
import { PaymentService, Reconciler } from "aegispay"
import { line, payment, run, start } from "./setup.js"

run(
  Effect.gen(function* () {
    const { context, simulators } = yield* start(
      [
        { id: "psp-offline", fees: { bps: 100, fixed: 10n }, offline: true },
        { id: "psp-cheap", fees: { bps: 140, fixed: 20n } },
        { id: "psp-mid", fees: { bps: 190, fixed: 25n } },
        { id: "psp-dear", fees: { bps: 290, fixed: 30n } }
      ],
      { strategy: { _tag: "LowestCost" } }
    )
    const payments = Context.get(context, PaymentService.PaymentService)

    const attempts = (p: {
      readonly attempts: ReadonlyArray<{
        number: number
        gateway: string
        status: string
        failure?: { code: string } | undefined
        idempotencyKey: string
      }>
    }) =>
      Effect.forEach(p.attempts, (a) =>
        Console.log(
          `   attempt ${a.number} on ${a.gateway}: ${a.status}${a.failure ? ` (${a.failure.code})` : ""}  key ${a.idempotencyKey}`
        )
      )

    yield* Console.log(
      "1. Lowest cost routing; the cheapest PSP is down (connection refused): retried, then the next one"
    )
    const first = (yield* payments.create(payment())).value
    yield* Console.log(`   reason: ${first.attempts[0]?.routing?.reason}`)
    yield* attempts(first)
    yield* Console.log(`   ${line(first)}`)

    yield* Console.log(
      "\n2. A card every PSP soft-declines (processing_error): each is tried once with its own key, then failed"
    )
    const soft = (yield* payments.create(payment({ cardNumber: "4000000000000119" }))).value
    yield* attempts(soft)
    yield* Console.log(`   ${line(soft)}`)

    yield* Console.log(
      "\n3. The cheapest live PSP charges but its response is lost: no failover, the reconciler resolves it"
    )
    yield* simulators.get("psp-cheap")!.setFaults({ lostResponseRate: 1 })
    const lost = (yield* payments.create(payment())).value
    yield* Console.log(`   ${line(lost)}  needsReconciliation=${lost.needsReconciliation}`)
    yield* simulators.get("psp-cheap")!.setFaults({})
    const report = yield* Context.get(context, Reconciler.Reconciler).runOnce
    yield* Console.log(`   reconciler: ${JSON.stringify(report.resolved)}`)
    yield* Console.log(`   ${line(yield* payments.get(lost.merchantId, lost.id))}`)

    const charged = (yield* Effect.all([...simulators.values()].map((s) => s.ledger)))
      .flat()
      .filter((e) => e.amount_captured > 0)
    yield* Console.log(`
PSP ledgers: ${charged.length} charges for the 3 payments (one declined everywhere), none charged twice`)
  })
)
