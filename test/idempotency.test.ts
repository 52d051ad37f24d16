/**
 * Idempotency against the simulator's ledger (what the PSP really charged): 100 concurrent creates
 * with one Idempotency-Key charge once, every caller gets that payment or `IdempotencyKeyInUse`
 * (a 409), and the same key with another body is `IdempotencyKeyReused` (a 422). On the test Layer
 * (memory) and on embedded PGlite; on PostgreSQL too when `DATABASE_URL` is set.
 */
import { Card, Currency, Customer, type Ids, Money } from "@aegispay/core"
import { assert, describe, it } from "@effect/vitest"
import { AegisPay, GatewaySetup, PaymentService } from "aegispay"
import { Context, Effect, Either, Layer, Logger, LogLevel, Redacted, Schema } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const input = (amount: bigint): PaymentService.CreatePaymentInput => ({
  merchantId: "m_idem" as Ids.MerchantId,
  idempotencyKey: "order-7731" as Ids.IdempotencyKey,
  amount: Money.make(amount, Currency.make("EUR")),
  customer: new Customer.Customer({ id: "cus_idem" as Ids.CustomerId }),
  card: Schema.decodeUnknownSync(Card.CardDetails)({
    number: "4242424242424242",
    expMonth: 2,
    expYear: 2034,
    cvc: "123"
  })
})

const layers: ReadonlyArray<
  readonly [
    string,
    Effect.Effect<Layer.Layer<AegisPay.LayerServices, unknown>, never, import("effect").Scope.Scope>
  ]
> = [
  ["memory (AegisPay.layerTest)", Effect.succeed(AegisPay.layerTest())],
  [
    "PGlite",
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "aegispay-idem-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ),
      (dataDir) =>
        AegisPay.layer({
          database: { _tag: "Pglite", dataDir },
          gateways: { _tag: "Simulated" },
          reconciler: { background: false }
        })
    )
  ],
  ...(process.env["DATABASE_URL"]
    ? [
        [
          "PostgreSQL",
          Effect.succeed(
            AegisPay.layer({
              database: { _tag: "Postgres", url: Redacted.make(process.env["DATABASE_URL"]) },
              gateways: { _tag: "Simulated" },
              reconciler: { background: false }
            })
          )
        ] as const
      ]
    : [])
]

describe("idempotency against the PSP's ledger", () => {
  for (const [name, make] of layers) {
    it.scopedLive(
      `${name}: 100 concurrent creates with one key charge once; another body is refused`,
      () =>
        Effect.gen(function* () {
          const context = yield* Layer.build(
            (yield* make).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Error)))
          )
          const service = Context.get(context, PaymentService.PaymentService)
          // a key unique to this run, so the shared PostgreSQL database never replays an older one
          const key =
            `order-${name.length}-${Date.now()}-${Math.random().toString(36).slice(2)}` as Ids.IdempotencyKey
          const results = yield* Effect.all(
            Array.from({ length: 100 }, () =>
              Effect.either(service.create({ ...input(2_500n), idempotencyKey: key }))
            ),
            { concurrency: "unbounded" }
          )
          const ids = new Set(results.flatMap((r) => (Either.isRight(r) ? [r.right.value.id] : [])))
          const errors = new Set(results.flatMap((r) => (Either.isLeft(r) ? [r.left._tag] : [])))
          assert.strictEqual(ids.size, 1, "every success is the same payment")
          assert.deepStrictEqual(
            [...errors].filter((t) => t !== "IdempotencyKeyInUse"),
            []
          )
          const mismatch = yield* Effect.either(service.create({ ...input(2_600n), idempotencyKey: key }))
          assert.isTrue(Either.isLeft(mismatch) && mismatch.left._tag === "IdempotencyKeyReused")

          // the ledgers of every simulated PSP: exactly one charge with this payment's attempt key
          const setup = Context.get(context, GatewaySetup.GatewaySetup)
          const [paymentId] = [...ids]
          const charges = yield* Effect.forEach(setup.gateways, (g) =>
            Effect.promise(async () => {
              const ledger = (await (await fetch(`${g.url}/_sim/ledger`)).json()) as {
                data: Array<{ idempotency_key: string; status: string }>
              }
              return ledger.data.filter((e) => e.idempotency_key.startsWith(`${paymentId}:`))
            })
          )
          assert.strictEqual(charges.flat().length, 1, JSON.stringify(charges))
          assert.strictEqual(charges.flat()[0]!.status, "succeeded")
        }),
      120_000
    )
  }
})
