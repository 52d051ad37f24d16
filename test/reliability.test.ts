/**
 * 1,000 payments through the orchestrator, over real HTTP to three simulated PSPs (the Stripe
 * adapter), with 20% injected faults (server errors, timeouts, lost responses), seeded. Then the
 * reconciler runs until nothing is open. The laws that must hold:
 * - no attempt key is charged twice, and no payment is charged by two PSPs;
 * - every payment ends terminal, and its status agrees with what the PSPs really charged;
 * - the read model equals the replay of each payment's events;
 * - every event has exactly one outbox row.
 */
import {
  Card,
  Currency,
  Customer,
  EventStore,
  Gateway,
  Ids,
  Money,
  Outbox,
  Payment,
  PaymentReadModel
} from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Database, Testing } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { AegisPay, GatewayGuard, PaymentService, Reconciler } from "aegispay"
import { Context, Effect, Layer, Logger, LogLevel, Option, Redacted, Schema } from "effect"

const PAYMENTS = 1_000
const faults = { seed: 2026, errorRate: 0.07, timeoutRate: 0.05, lostResponseRate: 0.08 }
const merchantId = "merchant_reliability" as Ids.MerchantId
const cards = [
  "4242424242424242",
  "4242424242424242",
  "4242424242424242",
  "4000000000000002",
  "4000000000009995"
]

const reliability = (name: string, stores: Layer.Layer<Database.Stores, unknown>) =>
  it.live(
    `${name}: ${PAYMENTS} payments, 20% faults: no double charge, nothing left open, read model = replay, every event has its outbox row`,
    () =>
      Effect.gen(function* () {
        const simulators = yield* Effect.all(
          ["rela", "relb", "relc"].map((name) =>
            Effect.map(
              Layer.build(Simulator.layer({ name, hang: "3 seconds" })),
              Context.get(Simulator.Simulator)
            )
          )
        )
        for (const [i, sim] of simulators.entries())
          yield* sim.setFaults({ ...faults, seed: faults.seed + i })
        const gateways = yield* Effect.all(
          simulators.map((sim, i) =>
            Stripe.make({
              id: `sim-${i}` as Ids.GatewayId,
              baseUrl: sim.url,
              apiKey: Redacted.make("sk_test_reliability"),
              timeout: "2 seconds",
              serverErrorRetries: 1
            })
          )
        ).pipe(Effect.provide(FetchHttpClient.layer))
        const app = AegisPay.compose(
          {
            stores: stores.pipe(Layer.orDie),
            gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom(gateways)),
            guard: GatewayGuard.layer({
              retry: { initialDelay: "10 millis", maxDelay: "50 millis" },
              breaker: { openTimeout: "200 millis" }
            })
          },
          {
            strategy: { _tag: "RoundRobin" },
            reconciler: {
              background: false,
              pendingGrace: "0 millis",
              notFoundGrace: "0 millis",
              backoff: "1 millis"
            }
          }
        )
        const context = yield* Layer.build(
          app.pipe(
            Layer.provide(
              Logger.minimumLogLevel(process.env["DEBUG_RECONCILE"] ? LogLevel.Warning : LogLevel.Error)
            )
          )
        )
        const service = Context.get(context, PaymentService.PaymentService)
        const reconciler = Context.get(context, Reconciler.Reconciler)
        const store = Context.get(context, EventStore.EventStore)
        const readModel = Context.get(context, PaymentReadModel.PaymentReadModel)
        const outbox = Context.get(context, Outbox.Outbox)

        const created = yield* Effect.forEach(
          Array.from({ length: PAYMENTS }, (_, i) => i),
          (i) =>
            service
              .create({
                merchantId,
                idempotencyKey: `order-${i}` as Ids.IdempotencyKey,
                amount: Money.make(BigInt(100 + i), Currency.make("USD")),
                customer: new Customer.Customer({ id: `cus_${i % 37}` as Ids.CustomerId }),
                card: Schema.decodeUnknownSync(Card.CardDetails)({
                  number: cards[i % cards.length],
                  expMonth: 12,
                  expYear: 2030,
                  cvc: "123"
                }),
                captureMethod: i % 10 === 0 ? "manual" : "automatic"
              })
              .pipe(Effect.map((o) => o.value.id)),
          { concurrency: 16 }
        )
        for (const sim of simulators) yield* sim.setFaults({})

        let open = Number.POSITIVE_INFINITY
        for (let pass = 0; pass < 10 && open > 0; pass++) {
          // a breaker opened by the faults refuses status calls until its open timeout has passed
          if (pass > 0) yield* Effect.sleep("250 millis")
          const report = yield* reconciler.runOnce
          if (process.env["DEBUG_RECONCILE"]) console.log(name, pass, JSON.stringify(report))
          open = (yield* readModel.awaitingReconciliation({
            limit: 10_000,
            updatedBefore: new Date(8_640_000_000_000)
          })).length
        }
        assert.strictEqual(open, 0, "nothing is left for the reconciler")

        const ledgers = yield* Effect.all(
          simulators.map((s, i) =>
            Effect.map(s.ledger, (entries) => entries.map((e) => ({ ...e, gateway: `sim-${i}` })))
          )
        )
        const charged = ledgers
          .flat()
          .filter((e) => e.status === "succeeded" || e.status === "requires_capture")
        const byKey = new Map<string, number>()
        const byPayment = new Map<string, number>()
        for (const e of charged) {
          const key = e.metadata["aegispay_attempt_key"] ?? ""
          byKey.set(key, (byKey.get(key) ?? 0) + 1)
          const payment = key.split(":")[0]!
          byPayment.set(payment, (byPayment.get(payment) ?? 0) + 1)
        }
        assert.deepStrictEqual(
          [...byKey].filter(([, n]) => n > 1),
          [],
          "no attempt key charged twice"
        )
        assert.deepStrictEqual(
          [...byPayment].filter(([, n]) => n > 1),
          [],
          "no payment charged by two PSPs"
        )

        const statuses = new Map<string, number>()
        let events = 0
        for (const id of new Set(created)) {
          const recorded = yield* store.read(id)
          events += recorded.length
          const replayed = Payment.replay(recorded.map((e) => e.event))
          const view = yield* readModel.get(merchantId, id)
          assert.isTrue(Option.isSome(view))
          assert.deepStrictEqual(
            Schema.encodeSync(Payment.Payment)(Option.getOrThrow(view)),
            Schema.encodeSync(Payment.Payment)(replayed as Payment.Payment),
            "read model = replay"
          )
          const p = replayed as Payment.Payment
          statuses.set(p.status, (statuses.get(p.status) ?? 0) + 1)
          if (process.env["DEBUG_RECONCILE"] && p.failure)
            statuses.set(
              `${p.failure.category}:${p.failure.code}`,
              (statuses.get(`${p.failure.category}:${p.failure.code}`) ?? 0) + 1
            )
          assert.include(["succeeded", "requires_capture", "failed"], p.status, `${p.id} ended ${p.status}`)
          const wasCharged = byPayment.get(p.id) === 1
          assert.strictEqual(
            wasCharged,
            p.status === "succeeded" || p.status === "requires_capture",
            `${p.id}: ${p.status} but charged=${wasCharged}`
          )
        }
        // no relay runs here, so every outbox row is pending; rows reference their event (unique), so
        // equal counts mean exactly one row per event
        assert.strictEqual((yield* outbox.backlog).pending, events, "one outbox row per event")
        console.log(
          `reliability ${name}: ${JSON.stringify(Object.fromEntries(statuses))}; PSP charges ${charged.length}`
        )
        assert.isAbove(statuses.get("succeeded") ?? 0, PAYMENTS / 3)
      }).pipe(Effect.scoped),
    { timeout: 180_000 }
  )

describe("reliability under injected faults", () => {
  reliability("memory", Database.layerMemory.pipe(Layer.provide(Ids.layer)))
  reliability("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layer)))
  const url = process.env["DATABASE_URL"]
  if (url !== undefined && url !== "") {
    reliability(
      "PostgreSQL",
      Testing.layerPgThrowawaySchema(url, "aegispay_e2e").pipe(Layer.provide(Ids.layer))
    )
  } else {
    it("PostgreSQL needs DATABASE_URL (CI sets it; on a laptop it is skipped)", ({ skip }) => {
      if (process.env["AEGISPAY_REQUIRE_SERVICES"] === "1") throw new Error("DATABASE_URL is required in CI")
      skip()
    })
  }
})
