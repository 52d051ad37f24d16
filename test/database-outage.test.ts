/**
 * Database down: the orchestrator over the simulated PSP (the real Stripe adapter, over HTTP on
 * loopback) with its store ports behind a switch (`support/outage.ts`) that makes every call fail
 * with `PersistenceError`, from now on or right after a chosen call. What must hold:
 * - an outage before a write: a typed error (HTTP 503 `storage_unavailable`), the PSP never called,
 *   nothing written;
 * - an outage after the PSP charged but before its answer is recorded: one charge at the PSP, and
 *   after recovery the Reconciler records it through the PSP's status call;
 * - an outage during a refund, a capture or a void (each reserved by an event before the PSP is
 *   asked): after recovery the Reconciler re-sends it with the same PSP idempotency key, so the
 *   money moves once;
 * - a client retry with the same Idempotency-Key never charges twice;
 * - the read model equals the replay of the events.
 * Runs on memory and PGlite, and on PostgreSQL when `DATABASE_URL` is set.
 */
import {
  Card,
  Currency,
  Customer,
  EventStore,
  Gateway,
  Ids,
  Money,
  Payment,
  PaymentReadModel
} from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Server } from "@aegispay/http"
import { Database, Testing } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { assert, describe, it, layer } from "@effect/vitest"
import { AegisPay, GatewayGuard, PaymentService, Reconciler, Telemetry } from "aegispay"
import { Clock, Context, Effect, Layer, Logger, LogLevel, Option, Redacted, Schema } from "effect"
import * as Outage from "./support/outage.js"

const KEY = "sk_test_outage_merchant_0123456789"
const merchantId = "merchant_outage" as Ids.MerchantId
const card = Schema.decodeUnknownSync(Card.CardDetails)({
  number: "4242424242424242",
  expMonth: 12,
  expYear: 2030,
  cvc: "123"
})

class Fixture extends Context.Tag("test/DatabaseOutage/Fixture")<
  Fixture,
  {
    readonly url: string
    readonly sim: Simulator.Service
    readonly outage: Outage.Service
    readonly payments: PaymentService.Service
    readonly reconciler: Reconciler.Service
    readonly store: EventStore.Service
    readonly readModel: PaymentReadModel.Service
  }
>() {}

/** The HTTP server and the orchestrator over `stores` behind the outage switch, and one simulated PSP. */
const fixture = (stores: Layer.Layer<Database.Stores, unknown>) =>
  Layer.scoped(
    Fixture,
    Effect.gen(function* () {
      const sim = Context.get(yield* Layer.build(Simulator.layer({ name: "outage" })), Simulator.Simulator)
      const stripe = yield* Stripe.make({
        id: "sim-outage" as Ids.GatewayId,
        baseUrl: sim.url,
        apiKey: Redacted.make("sk_test_outage_psp")
      }).pipe(Effect.provide(FetchHttpClient.layer))
      const app = AegisPay.compose(
        {
          stores: Outage.layer(stores.pipe(Layer.orDie)),
          gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([stripe])),
          guard: GatewayGuard.layer()
        },
        { reconciler: { background: false, pendingGrace: "0 millis", notFoundGrace: "0 millis" } }
      )
      const context = yield* Layer.build(
        Server.layer({
          port: 0,
          host: "127.0.0.1",
          apiKeys: new Map([[KEY, merchantId]]),
          devKey: Option.none()
        }).pipe(
          Layer.provideMerge(Layer.merge(app, Telemetry.layer({ serviceName: "outage" }))),
          // the outage makes the orchestrator log errors on purpose
          Layer.provide(Logger.minimumLogLevel(LogLevel.None))
        )
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      return {
        url: `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`,
        sim,
        outage: Context.get(context, Outage.Outage),
        payments: Context.get(context, PaymentService.PaymentService),
        reconciler: Context.get(context, Reconciler.Reconciler),
        store: Context.get(context, EventStore.EventStore),
        readModel: Context.get(context, PaymentReadModel.PaymentReadModel)
      }
    })
  )

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: Record<string, unknown>
}

/** A JSON request to the server (POST when there is a body). */
const call = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.flatMap(Fixture, ({ url }) =>
    Effect.promise(async (): Promise<Reply> => {
      const res = await fetch(url + path, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {})
      })
      const text = await res.text()
      let parsed: Record<string, unknown> = {}
      try {
        parsed = JSON.parse(text) as Record<string, unknown>
      } catch {
        // not JSON: the text is there
      }
      return { status: res.status, headers: res.headers, text, body: parsed }
    })
  )

const errorCode = (r: Reply) => (r.body["error"] as { code?: string } | undefined)?.code

const input = (
  order: string,
  over: Partial<PaymentService.CreatePaymentInput> = {}
): PaymentService.CreatePaymentInput => ({
  merchantId,
  idempotencyKey: order as Ids.IdempotencyKey,
  amount: Money.make(10_000n, Currency.make("EUR")),
  customer: new Customer.Customer({ id: "cus_outage" as Ids.CustomerId }),
  card,
  metadata: { order },
  ...over
})

/** What the PSP really did for one payment (its ledger is the ground truth). */
const pspEntries = (paymentId: string) =>
  Effect.flatMap(Fixture, ({ sim }) =>
    Effect.map(sim.ledger, (ledger) => ledger.filter((e) => e.metadata["aegispay_payment_id"] === paymentId))
  )

/** The payment as its events say, after checking that the read model agrees. */
const replayed = (paymentId: Ids.PaymentId) =>
  Effect.gen(function* () {
    const { readModel, store } = yield* Fixture
    const state = Payment.replay((yield* store.read(paymentId)).map((e) => e.event))
    assert.isTrue(Payment.exists(state), `${paymentId} exists`)
    const payment = state as Payment.Payment
    const view = yield* readModel.get(merchantId, paymentId)
    assert.deepStrictEqual(
      Schema.encodeSync(Payment.Payment)(Option.getOrThrow(view)),
      Schema.encodeSync(Payment.Payment)(payment),
      "read model = replay"
    )
    return payment
  })

/**
 * Runs `self` as if `ms` had passed: the idempotency lease and the stores read time from `Clock`.
 * Nothing sleeps.
 */
const later =
  (ms: number) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.clockWith((base) =>
      Effect.withClock(self, {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + ms,
        currentTimeMillis: Effect.map(base.currentTimeMillis, (t) => t + ms),
        unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(ms) * 1_000_000n,
        currentTimeNanos: Effect.map(base.currentTimeNanos, (t) => t + BigInt(ms) * 1_000_000n),
        sleep: (d) => base.sleep(d)
      })
    )
/** Past the 30 s lease of an in-flight idempotency key whose request failed. */
const afterLease = later(31_000)

const outageSuite = (name: string, stores: Layer.Layer<Database.Stores, unknown>) =>
  // one stack per backend; excludeTestServices: the tests run on the live clock, since the
  // simulator answers over real HTTP (and nothing here waits on time)
  layer(fixture(stores), { excludeTestServices: true, timeout: "60 seconds" })(
    `${name}: database down`,
    (it) => {
      it.effect(
        "before a create: PersistenceError (HTTP 503 storage_unavailable), the PSP is never called, nothing is written",
        () =>
          Effect.gen(function* () {
            const { outage, payments, sim, store } = yield* Fixture
            const ledgerBefore = (yield* sim.ledger).length
            const eventsBefore = (yield* store.readAll({ after: 0n, limit: 10_000 })).length
            yield* outage.down

            const keyed = yield* Effect.flip(payments.create(input("order-a")))
            assert.strictEqual(keyed._tag, "PersistenceError")
            assert.strictEqual(
              keyed._tag === "PersistenceError" ? keyed.operation : "",
              "IdempotencyStore.claim"
            )
            const unkeyed = yield* Effect.flip(
              payments.create(input("order-a2", { idempotencyKey: undefined }))
            )
            assert.strictEqual(unkeyed._tag, "PersistenceError")
            assert.strictEqual(
              unkeyed._tag === "PersistenceError" ? unkeyed.operation : "",
              "EventStore.read"
            )

            const http = yield* call(
              "/v1/payments",
              {
                amount: 4990,
                currency: "EUR",
                customer: { id: "cus_outage" },
                paymentMethod: {
                  type: "card",
                  card: { number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123" }
                }
              },
              { "idempotency-key": "order-a-http" }
            )
            assert.deepStrictEqual(
              [http.status, errorCode(http)],
              [503, "storage_unavailable"],
              "HTTP maps PersistenceError to 503"
            )
            const ready = yield* call("/health/ready")
            assert.strictEqual(ready.status, 503, "readiness reports the database")

            yield* outage.up
            assert.strictEqual((yield* sim.ledger).length, ledgerBefore, "the PSP was never called")
            assert.strictEqual(
              (yield* store.readAll({ after: 0n, limit: 10_000 })).length,
              eventsBefore,
              "nothing was written"
            )
            assert.isAbove((yield* outage.refused).length, 0)
          })
      )

      it.effect(
        "a create refused during the outage and retried with the same Idempotency-Key after recovery charges once",
        () =>
          Effect.gen(function* () {
            const { outage } = yield* Fixture
            const body = {
              amount: 2500,
              currency: "EUR",
              customer: { id: "cus_outage" },
              paymentMethod: {
                type: "card",
                card: { number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123" }
              }
            }
            const key = { "idempotency-key": "order-d" }
            yield* outage.down
            const refused = yield* call("/v1/payments", body, key)
            assert.strictEqual(refused.status, 503)
            yield* outage.up

            const first = yield* call("/v1/payments", body, key)
            assert.deepStrictEqual([first.status, first.body["status"]], [201, "succeeded"])
            assert.isNull(first.headers.get("idempotent-replayed"))
            const again = yield* call("/v1/payments", body, key)
            assert.strictEqual(again.headers.get("idempotent-replayed"), "true")
            assert.strictEqual(again.text, first.text, "the first answer, byte for byte")
            const charges = yield* pspEntries(String(first.body["id"]))
            assert.deepStrictEqual(
              charges.map((e) => [e.status, e.amount_captured]),
              [["succeeded", 2500]],
              "one charge"
            )
          })
      )

      it.effect(
        "after the PSP charged, before the outcome is recorded: one charge; the Reconciler records it after recovery; a retry with the same key never charges again",
        () =>
          Effect.gen(function* () {
            const { outage, payments, reconciler, sim } = yield* Fixture
            // the database dies right after AttemptStarted is durable, i.e. while the PSP is charging
            yield* outage.downAfter(Outage.appendOf("AttemptStarted"))
            const error = yield* Effect.flip(payments.create(input("order-b")))
            assert.strictEqual(error._tag, "PersistenceError")
            assert.strictEqual(error._tag === "PersistenceError" ? error.operation : "", "EventStore.append")
            const charged = (yield* sim.ledger).filter((e) => e.metadata["order"] === "order-b")
            assert.deepStrictEqual(
              charged.map((e) => e.status),
              ["succeeded"],
              "the PSP charged once"
            )
            const paymentId = charged[0]!.metadata["aegispay_payment_id"] as Ids.PaymentId

            // a reconciliation pass during the outage fails softly: nothing listed, nothing decided
            const during = yield* reconciler.runOnce
            assert.strictEqual(during.examined, 0)
            yield* outage.up

            const open = yield* replayed(paymentId)
            assert.strictEqual(open.status, "processing")
            assert.strictEqual(Payment.currentAttempt(open)?.status, "pending", "the outcome is missing")

            // the client retries at once: the failed request could not give its key back (the
            // database was down), so the key is in flight until its lease runs out
            const busy = yield* Effect.flip(payments.create(input("order-b")))
            assert.strictEqual(busy._tag, "IdempotencyKeyInUse")

            const report = yield* reconciler.runOnce
            assert.strictEqual(report.resolved.captured, 1, JSON.stringify(report))
            const resolved = yield* replayed(paymentId)
            assert.strictEqual(resolved.status, "succeeded")
            assert.strictEqual(resolved.amountCaptured, 10_000n)
            assert.strictEqual(resolved.gatewayReference, charged[0]!.id, "the charge the PSP made")

            // after the lease the retry lands on the same payment (its id comes from the key)
            const retried = yield* payments.create(input("order-b")).pipe(afterLease)
            assert.strictEqual(retried.value.id, paymentId)
            assert.strictEqual(retried.value.status, "succeeded")
            const replay = yield* payments.create(input("order-b"))
            assert.isTrue(replay.replayed)
            assert.strictEqual(replay.value.status, "succeeded")
            assert.deepStrictEqual(
              (yield* pspEntries(paymentId)).map((e) => [e.status, e.amount_captured]),
              [["succeeded", 10_000]],
              "still one charge"
            )
          })
      )

      it.effect(
        "during a refund: the PSP refunds once; the Reconciler completes the reserved refund with the same key and request",
        () =>
          Effect.gen(function* () {
            const { outage, payments, reconciler } = yield* Fixture
            const { value: paid } = yield* payments.create(input("order-c"))
            assert.strictEqual(paid.status, "succeeded")
            const refund = {
              merchantId,
              paymentId: paid.id,
              idempotencyKey: "refund-c" as Ids.IdempotencyKey,
              amount: 4_000n,
              reason: "returned"
            }
            yield* outage.downAfter(Outage.appendOf("RefundRequested"))
            const error = yield* Effect.flip(payments.refund(refund))
            assert.strictEqual(error._tag, "PersistenceError")
            assert.deepStrictEqual(
              (yield* pspEntries(paid.id)).map((e) => e.amount_refunded),
              [4_000],
              "the PSP refunded"
            )
            yield* outage.up

            const reserved = yield* replayed(paid.id)
            assert.deepStrictEqual(
              reserved.refunds.map((r) => r.status),
              ["pending"]
            )
            const report = yield* reconciler.runOnce
            assert.strictEqual(report.resolved.refunded, 1, JSON.stringify(report))
            const done = yield* replayed(paid.id)
            assert.deepStrictEqual(
              done.refunds.map((r) => r.status),
              ["succeeded"]
            )
            assert.strictEqual(done.amountRefunded, 4_000n)

            // the client's retry after the lease gets the refund, and the PSP is not asked again
            const retried = yield* payments.refund(refund).pipe(afterLease)
            assert.deepStrictEqual([retried.value.status, retried.value.amount], ["succeeded", 4_000n])
            assert.deepStrictEqual(
              (yield* pspEntries(paid.id)).map((e) => e.amount_refunded),
              [4_000],
              "refunded once"
            )
          })
      )

      it.effect(
        "during a capture: the PSP captures once; the Reconciler completes the reserved capture with the same key and amount",
        () =>
          Effect.gen(function* () {
            const { outage, payments, reconciler } = yield* Fixture
            const { value: authorized } = yield* payments.create(
              input("order-cap", { captureMethod: "manual" })
            )
            assert.strictEqual(authorized.status, "requires_capture")
            // the capture is reserved (CaptureRequested), then the PSP captures: the database dies between
            yield* outage.downAfter(Outage.appendOf("CaptureRequested"))
            const capture = { merchantId, paymentId: authorized.id, amount: 6_000n }
            const error = yield* Effect.flip(payments.capture(capture))
            assert.strictEqual(error._tag, "PersistenceError")
            assert.strictEqual(error._tag === "PersistenceError" ? error.operation : "", "EventStore.append")
            assert.deepStrictEqual(
              (yield* pspEntries(authorized.id)).map((e) => [e.status, e.amount_captured]),
              [["succeeded", 6_000]],
              "the PSP captured"
            )
            yield* outage.up

            const reserved = yield* replayed(authorized.id)
            assert.strictEqual(reserved.status, "requires_capture", "the public status does not change")
            assert.deepStrictEqual(
              reserved.pendingOperation?._tag === "Capture" ? reserved.pendingOperation.amount : undefined,
              6_000n
            )
            // the caller cannot capture (or cancel) again while the capture is pending: HTTP 409
            const again = yield* Effect.flip(payments.capture(capture))
            assert.strictEqual(again._tag, "InvalidTransition")
            const http = yield* call(`/v1/payments/${authorized.id}/capture`, { amount: 6_000 })
            assert.deepStrictEqual([http.status, errorCode(http)], [409, "invalid_state"])
            const view = yield* call(`/v1/payments/${authorized.id}`)
            assert.deepStrictEqual([view.status, view.body["status"]], [200, "requires_capture"])

            // the Reconciler re-sends the same request with the same key (<paymentId>:capture): the
            // PSP replays its answer, and the capture is recorded once
            const report = yield* reconciler.runOnce
            assert.strictEqual(report.resolved.captured, 1, JSON.stringify(report))
            const done = yield* replayed(authorized.id)
            assert.deepStrictEqual(
              [done.status, done.amountCaptured, done.pendingOperation],
              ["succeeded", 6_000n, undefined]
            )
            assert.deepStrictEqual(
              (yield* pspEntries(authorized.id)).map((e) => [e.status, e.amount_captured]),
              [["succeeded", 6_000]],
              "captured once"
            )
          })
      )

      it.effect(
        "during a void: the PSP voids once; the Reconciler completes the reserved void with the same key",
        () =>
          Effect.gen(function* () {
            const { outage, payments, reconciler } = yield* Fixture
            const { value: authorized } = yield* payments.create(
              input("order-void", { captureMethod: "manual" })
            )
            assert.strictEqual(authorized.status, "requires_capture")
            yield* outage.downAfter(Outage.appendOf("VoidRequested"))
            const error = yield* Effect.flip(payments.cancel({ merchantId, paymentId: authorized.id }))
            assert.strictEqual(error._tag, "PersistenceError")
            assert.deepStrictEqual(
              (yield* pspEntries(authorized.id)).map((e) => e.status),
              ["canceled"],
              "the PSP voided"
            )
            yield* outage.up

            const reserved = yield* replayed(authorized.id)
            assert.deepStrictEqual(
              [reserved.status, reserved.pendingOperation?._tag],
              ["requires_capture", "Void"]
            )
            const capture = yield* Effect.flip(payments.capture({ merchantId, paymentId: authorized.id }))
            assert.strictEqual(capture._tag, "InvalidTransition", "no capture of a voided authorization")

            const report = yield* reconciler.runOnce
            assert.strictEqual(report.resolved.voided, 1, JSON.stringify(report))
            assert.strictEqual((yield* replayed(authorized.id)).status, "cancelled")
            assert.deepStrictEqual(
              (yield* pspEntries(authorized.id)).map((e) => [e.status, e.amount_captured]),
              [["canceled", 0]],
              "voided once, never captured"
            )
          })
      )
    }
  )

describe("database outage", () => {
  outageSuite("memory", Database.layerMemory.pipe(Layer.provide(Ids.layer)))
  outageSuite("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layer)))
  const url = process.env["DATABASE_URL"]
  if (url !== undefined && url !== "") {
    outageSuite(
      "PostgreSQL",
      Testing.layerPgThrowawaySchema(url, "aegispay_outage").pipe(Layer.provide(Ids.layer))
    )
  } else {
    it("PostgreSQL needs DATABASE_URL (CI sets it; on a laptop it is skipped)", ({ skip }) => {
      if (process.env["AEGISPAY_REQUIRE_SERVICES"] === "1") throw new Error("DATABASE_URL is required in CI")
      skip()
    })
  }
})
