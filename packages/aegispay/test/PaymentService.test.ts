import { Card, Currency, Customer, Gateway, Ids, Money } from "@aegispay/core"
import { assert, describe, it } from "@effect/vitest"
import { AegisPay, type Hooks, PaymentService, Reconciler, type Routing } from "aegispay"
import { Context, Effect, Either, Layer, Schema, TestClock } from "effect"
import { Memory } from "@aegispay/infra"
import * as PassThrough from "./support/PassThroughGuard.js"
import * as Scripted from "./support/ScriptedGateway.js"

const merchantId = "merchant_1" as Ids.MerchantId
const card = Schema.decodeUnknownSync(Card.CardDetails)({
  number: "4242424242424242",
  expMonth: 12,
  expYear: 2030,
  cvc: "123"
})
const input = (over: Partial<PaymentService.CreatePaymentInput> = {}): PaymentService.CreatePaymentInput => ({
  merchantId,
  amount: Money.make(10_000n, Currency.make("EUR")),
  customer: new Customer.Customer({ id: "cus_1" as Ids.CustomerId }),
  card,
  ...over
})

/** Two scripted gateways, tried a then b. */
const setup = (
  a: ReadonlyArray<Scripted.Answer>,
  b: ReadonlyArray<Scripted.Answer> = [{ _tag: "Approve" }],
  hooks: Hooks.Config = {},
  refundsOfA: ReadonlyArray<Scripted.RefundAnswer> = [],
  operationsOfA: Scripted.OperationScripts = {}
) =>
  Effect.gen(function* () {
    const ga = yield* Scripted.make("a", a, refundsOfA, operationsOfA)
    const gb = yield* Scripted.make("b", b)
    const registry = Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([ga.gateway, gb.gateway]))
    const strategy: Routing.Strategy = {
      _tag: "Custom",
      name: "a-then-b",
      rank: () => [{ gateway: "a" as Ids.GatewayId }, { gateway: "b" as Ids.GatewayId }]
    }
    const all = AegisPay.compose(
      {
        stores: Memory.layer().pipe(Layer.provide(Ids.layerRandom)),
        gateways: registry,
        guard: PassThrough.layer,
        ids: Ids.layerRandom
      },
      {
        strategy,
        hooks,
        reconciler: { background: false, notFoundGrace: "0 millis", pendingGrace: "0 millis" }
      }
    )
    const context = yield* Layer.build(all)
    return { ga, gb, context }
  })

describe("PaymentService.create", () => {
  it.scoped("charges once through the first gateway and succeeds", () =>
    Effect.gen(function* () {
      const { ga, gb, context } = yield* setup([{ _tag: "Approve" }])
      const service = Context.get(context, PaymentService.PaymentService)
      const { value: p } = yield* service.create(input())
      assert.strictEqual(p.status, "succeeded")
      assert.strictEqual(p.amountCaptured, 10_000n)
      assert.deepStrictEqual(yield* ga.calls, [`authorize:${p.id}:1`])
      assert.deepStrictEqual(yield* gb.calls, [])
      assert.deepStrictEqual([p.card.brand, p.card.last4], ["visa", "4242"])
      assert.strictEqual(p.attempts[0]?.routing?.strategy, "custom:a-then-b")
    })
  )

  it.scoped("a hard decline: one gateway call, no retry, no failover", () =>
    Effect.gen(function* () {
      const { ga, gb, context } = yield* setup([{ _tag: "Fail", error: Scripted.hard("a") }])
      const { value: p } = yield* Context.get(context, PaymentService.PaymentService).create(input())
      assert.strictEqual(p.status, "failed")
      assert.strictEqual(p.failure?.category, "hard_decline")
      assert.strictEqual((yield* ga.calls).length, 1)
      assert.deepStrictEqual(yield* gb.calls, [])
    })
  )

  it.scoped("a soft decline moves to the next candidate with a new attempt key", () =>
    Effect.gen(function* () {
      const { ga, gb, context } = yield* setup([{ _tag: "Fail", error: Scripted.soft("a") }])
      const { value: p } = yield* Context.get(context, PaymentService.PaymentService).create(input())
      assert.strictEqual(p.status, "succeeded")
      assert.strictEqual(p.gateway, "b")
      assert.deepStrictEqual(yield* ga.calls, [`authorize:${p.id}:1`])
      assert.deepStrictEqual(yield* gb.calls, [`authorize:${p.id}:2`])
    })
  )

  it.scoped("every candidate failing softly fails the payment", () =>
    Effect.gen(function* () {
      const { context } = yield* setup(
        [{ _tag: "Fail", error: Scripted.soft("a") }],
        [{ _tag: "Fail", error: Scripted.retryable("b") }]
      )
      const { value: p } = yield* Context.get(context, PaymentService.PaymentService).create(input())
      assert.strictEqual(p.status, "failed")
      assert.strictEqual(p.failure?.category, "exhausted")
      assert.strictEqual(p.attempts.length, 2)
    })
  )

  it.scoped("an ambiguous outcome never fails over; the reconciler resolves it from the same gateway", () =>
    Effect.gen(function* () {
      const { ga, gb, context } = yield* setup([{ _tag: "ChargeThenLose" }])
      const service = Context.get(context, PaymentService.PaymentService)
      const { value: p } = yield* service.create(input())
      assert.strictEqual(p.status, "processing")
      assert.isTrue(p.needsReconciliation)
      assert.deepStrictEqual(yield* gb.calls, [], "no other gateway was tried")
      const report = yield* Context.get(context, Reconciler.Reconciler).runOnce
      assert.strictEqual(report.resolved.captured, 1)
      const after = yield* service.get(merchantId, p.id)
      assert.strictEqual(after.status, "succeeded")
      assert.strictEqual((yield* ga.charges).size, 1, "charged exactly once")
    })
  )

  it.scoped("a fraud deny fails the payment with the reason and calls no gateway", () =>
    Effect.gen(function* () {
      const { ga, gb, context } = yield* setup([{ _tag: "Approve" }], [{ _tag: "Approve" }], {
        fraud: [
          {
            name: "velocity",
            failMode: "closed",
            check: () => Effect.succeed({ allow: false, score: 0.97, reason: "too many cards" })
          }
        ]
      })
      const { value: p } = yield* Context.get(context, PaymentService.PaymentService).create(input())
      assert.strictEqual(p.status, "failed")
      assert.strictEqual(p.failure?.category, "fraud")
      assert.strictEqual(p.failure?.message, "too many cards")
      assert.strictEqual(p.risk?.score, 0.97)
      assert.deepStrictEqual([...(yield* ga.calls), ...(yield* gb.calls)], [])
    })
  )

  it.scoped("a fraud check that errors fails open or closed as configured", () =>
    Effect.gen(function* () {
      const broken = (failMode: "open" | "closed") => ({
        fraud: [{ name: "down", failMode, check: () => Effect.fail("boom") }]
      })
      const open = yield* setup([{ _tag: "Approve" }], [], broken("open"))
      assert.strictEqual(
        (yield* Context.get(open.context, PaymentService.PaymentService).create(input())).value.status,
        "succeeded"
      )
      const closed = yield* setup([{ _tag: "Approve" }], [], broken("closed"))
      assert.strictEqual(
        (yield* Context.get(closed.context, PaymentService.PaymentService).create(input())).value.status,
        "failed"
      )
    })
  )

  it.scoped("a failing event listener never breaks a payment", () =>
    Effect.gen(function* () {
      const { context } = yield* setup([{ _tag: "Approve" }], [], {
        listeners: [{ name: "bad", onEvent: () => Effect.die("listener bug") }]
      })
      assert.strictEqual(
        (yield* Context.get(context, PaymentService.PaymentService).create(input())).value.status,
        "succeeded"
      )
    })
  )
})

describe("PaymentService idempotency", () => {
  const key = "order-1001" as Ids.IdempotencyKey

  it.scoped("the same key and body replays the first answer; another body is refused", () =>
    Effect.gen(function* () {
      const { ga, context } = yield* setup([{ _tag: "Approve" }])
      const service = Context.get(context, PaymentService.PaymentService)
      const first = yield* service.create(input({ idempotencyKey: key }))
      const second = yield* service.create(input({ idempotencyKey: key }))
      assert.isFalse(first.replayed)
      assert.isTrue(second.replayed)
      assert.deepStrictEqual(Schema.encodeSync(Schema.Any)(second.value.id), first.value.id)
      assert.strictEqual(second.value.version, first.value.version)
      const other = yield* Effect.either(
        service.create(input({ idempotencyKey: key, amount: Money.make(1n, Currency.make("EUR")) }))
      )
      assert.isTrue(Either.isLeft(other) && other.left._tag === "IdempotencyKeyReused")
      assert.strictEqual((yield* ga.calls).length, 1)
    })
  )

  it.scoped("100 concurrent creates with one key: one charge; each caller gets the payment or InFlight", () =>
    Effect.gen(function* () {
      const { ga, context } = yield* setup([{ _tag: "Approve" }])
      const service = Context.get(context, PaymentService.PaymentService)
      const results = yield* Effect.all(
        Array.from({ length: 100 }, () => Effect.either(service.create(input({ idempotencyKey: key })))),
        { concurrency: "unbounded" }
      )
      const ids = new Set(results.flatMap((r) => (Either.isRight(r) ? [r.right.value.id] : [])))
      const errors = new Set(results.flatMap((r) => (Either.isLeft(r) ? [r.left._tag] : [])))
      assert.strictEqual(ids.size, 1)
      assert.isTrue(
        [...errors].every((t) => t === "IdempotencyKeyInUse"),
        [...errors].join()
      )
      assert.strictEqual((yield* ga.charges).size, 1)
    })
  )
})

describe("PaymentService capture, cancel, refund", () => {
  it.scoped("manual capture in part, then partial and repeated refunds up to the captured amount", () =>
    Effect.gen(function* () {
      const { ga, context } = yield* setup([{ _tag: "Approve" }])
      const service = Context.get(context, PaymentService.PaymentService)
      const { value: p } = yield* service.create(input({ captureMethod: "manual" }))
      assert.strictEqual(p.status, "requires_capture")
      const captured = yield* service.capture({ merchantId, paymentId: p.id, amount: 6_000n })
      assert.strictEqual(captured.status, "succeeded")
      assert.strictEqual(captured.amountCaptured, 6_000n)
      const r1 = yield* service.refund({ merchantId, paymentId: p.id, amount: 1_000n })
      assert.strictEqual(r1.value.status, "succeeded")
      const r2 = yield* service.refund({ merchantId, paymentId: p.id })
      assert.strictEqual(r2.value.amount, 5_000n)
      const after = yield* service.get(merchantId, p.id)
      assert.strictEqual(after.status, "refunded")
      const more = yield* Effect.either(service.refund({ merchantId, paymentId: p.id, amount: 1n }))
      assert.isTrue(
        Either.isLeft(more) && more.left._tag === "InvalidTransition",
        "a refunded payment is final"
      )
      assert.includeMembers([...(yield* ga.calls)], [`capture:${p.id}:capture`])
    })
  )

  it.scoped("concurrent refunds never refund more than was captured", () =>
    Effect.gen(function* () {
      const { context } = yield* setup([{ _tag: "Approve" }])
      const service = Context.get(context, PaymentService.PaymentService)
      const { value: p } = yield* service.create(input())
      const results = yield* Effect.all(
        Array.from({ length: 30 }, () =>
          Effect.either(service.refund({ merchantId, paymentId: p.id, amount: 700n }))
        ),
        { concurrency: "unbounded" }
      )
      const ok = results.filter(Either.isRight)
      assert.strictEqual(ok.length, 14) // 14 × 700 = 9,800 ≤ 10,000 < 15 × 700
      const after = yield* service.get(merchantId, p.id)
      assert.strictEqual(after.amountRefunded, 9_800n)
      assert.isTrue(after.amountRefunded <= after.amountCaptured)
    })
  )

  it.scoped("a refund left pending is retried by the reconciler with the same key, amount and reason", () =>
    Effect.gen(function* () {
      const { context, ga } = yield* setup([{ _tag: "Approve" }], undefined, {}, [
        { _tag: "RefundThenLose" },
        { _tag: "Approve" }
      ])
      const service = Context.get(context, PaymentService.PaymentService)
      const { value: p } = yield* service.create(input())
      const { value: pending } = yield* service.refund({
        merchantId,
        paymentId: p.id,
        amount: 2_500n,
        reason: "returned"
      })
      assert.strictEqual(pending.status, "pending")
      const report = yield* Context.get(context, Reconciler.Reconciler).runOnce
      assert.strictEqual(report.resolved.refunded, 1)
      const after = yield* service.get(merchantId, p.id)
      assert.deepStrictEqual(
        after.refunds.map((r) => r.status),
        ["succeeded"]
      )
      // a PSP that checks the body against the key (Stripe) refuses the retry if anything differs
      const [first, retry] = yield* ga.refunds
      assert.deepStrictEqual(
        [retry?.idempotencyKey, retry?.amount.amount, retry?.reason],
        [first?.idempotencyKey, 2_500n, "returned"]
      )
    })
  )

  it.scoped("void of an authorization; another merchant sees nothing", () =>
    Effect.gen(function* () {
      const { context } = yield* setup([{ _tag: "Approve" }])
      const service = Context.get(context, PaymentService.PaymentService)
      const { value: p } = yield* service.create(input({ captureMethod: "manual" }))
      const stranger = yield* Effect.either(
        service.cancel({ merchantId: "other" as Ids.MerchantId, paymentId: p.id })
      )
      assert.isTrue(Either.isLeft(stranger) && stranger.left._tag === "PaymentNotFound")
      const cancelled = yield* service.cancel({ merchantId, paymentId: p.id })
      assert.strictEqual(cancelled.status, "cancelled")
      const again = yield* Effect.either(service.capture({ merchantId, paymentId: p.id }))
      assert.isTrue(Either.isLeft(again) && again.left._tag === "InvalidTransition")
      const events = yield* service.events(merchantId, p.id)
      assert.deepStrictEqual(
        events.map((e) => e.version),
        events.map((_, i) => i + 1)
      )
    })
  )

  it.scoped(
    "a capture whose PSP answer is lost stays pending; a second capture, a void or a refund is refused; the reconciler completes it with the same key and amount",
    () =>
      Effect.gen(function* () {
        const { context, ga } = yield* setup([{ _tag: "Approve" }], undefined, {}, [], {
          capture: [{ _tag: "ApplyThenLose" }, { _tag: "Approve" }]
        })
        const service = Context.get(context, PaymentService.PaymentService)
        const { value: p } = yield* service.create(input({ captureMethod: "manual" }))
        const lost = yield* Effect.flip(service.capture({ merchantId, paymentId: p.id, amount: 6_000n }))
        assert.strictEqual(lost._tag, "GatewayUnavailable", "HTTP 503, as for any unavailable gateway")
        const pending = yield* service.get(merchantId, p.id)
        assert.deepStrictEqual(
          [pending.status, pending.amountCaptured, pending.pendingOperation?._tag],
          ["requires_capture", 0n, "Capture"]
        )
        for (const again of [
          service.capture({ merchantId, paymentId: p.id, amount: 6_000n }),
          service.capture({ merchantId, paymentId: p.id }),
          service.cancel({ merchantId, paymentId: p.id }),
          Effect.asVoid(service.refund({ merchantId, paymentId: p.id }))
        ] as ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>>) {
          const refused = yield* Effect.flip(again)
          assert.strictEqual(refused._tag, "InvalidTransition")
        }
        assert.strictEqual((yield* ga.operations).length, 1, "the PSP was asked once")

        const report = yield* Context.get(context, Reconciler.Reconciler).runOnce
        assert.strictEqual(report.resolved.captured, 1, JSON.stringify(report))
        const after = yield* service.get(merchantId, p.id)
        assert.deepStrictEqual(
          [after.status, after.amountCaptured, after.pendingOperation],
          ["succeeded", 6_000n, undefined]
        )
        const [first, retry] = yield* ga.operations
        assert.deepStrictEqual(
          [retry?.operation, retry?.idempotencyKey, retry?.amount],
          ["capture", `${p.id}:capture`, 6_000n]
        )
        assert.deepStrictEqual([first?.idempotencyKey, first?.amount], [`${p.id}:capture`, 6_000n])
        assert.strictEqual((yield* ga.applied).size, 1, "captured once")
        assert.deepStrictEqual((yield* service.events(merchantId, p.id)).map((e) => e.type).slice(-2), [
          "CaptureRequested",
          "PaymentCaptured"
        ])
      })
  )

  it.scoped(
    "a capture the PSP refuses, or that was never sent, is recorded and cleared; the authorization can be captured again",
    () =>
      Effect.gen(function* () {
        const { context, ga } = yield* setup([{ _tag: "Approve" }], undefined, {}, [], {
          capture: [
            { _tag: "Fail", error: Scripted.soft("a") },
            { _tag: "Fail", error: Scripted.retryable("a") },
            { _tag: "Approve" }
          ]
        })
        const service = Context.get(context, PaymentService.PaymentService)
        const { value: p } = yield* service.create(input({ captureMethod: "manual" }))
        const refused = yield* Effect.flip(service.capture({ merchantId, paymentId: p.id }))
        assert.strictEqual(refused._tag, "GatewayRejected")
        const cleared = yield* service.get(merchantId, p.id)
        assert.deepStrictEqual([cleared.status, cleared.pendingOperation], ["requires_capture", undefined])
        const unsent = yield* Effect.flip(service.capture({ merchantId, paymentId: p.id }))
        assert.strictEqual(unsent._tag, "GatewayUnavailable")
        assert.isUndefined((yield* service.get(merchantId, p.id)).pendingOperation)
        const report = yield* Context.get(context, Reconciler.Reconciler).runOnce
        assert.strictEqual(report.examined, 0, "nothing is left for the reconciler")
        const captured = yield* service.capture({ merchantId, paymentId: p.id })
        assert.deepStrictEqual([captured.status, captured.amountCaptured], ["succeeded", 10_000n])
        assert.deepStrictEqual((yield* service.events(merchantId, p.id)).map((e) => e.type).slice(-6), [
          "CaptureRequested",
          "CaptureFailed",
          "CaptureRequested",
          "CaptureFailed",
          "CaptureRequested",
          "PaymentCaptured"
        ])
        assert.strictEqual((yield* ga.applied).size, 1)
      })
  )

  it.scoped(
    "a void whose PSP answer is lost stays pending; the reconciler completes it with the same key",
    () =>
      Effect.gen(function* () {
        const { context, ga } = yield* setup([{ _tag: "Approve" }], undefined, {}, [], {
          void: [{ _tag: "ApplyThenLose" }, { _tag: "Approve" }]
        })
        const service = Context.get(context, PaymentService.PaymentService)
        const { value: p } = yield* service.create(input({ captureMethod: "manual" }))
        const lost = yield* Effect.flip(
          service.cancel({ merchantId, paymentId: p.id, reason: "out of stock" })
        )
        assert.strictEqual(lost._tag, "GatewayUnavailable")
        const pending = yield* service.get(merchantId, p.id)
        assert.deepStrictEqual([pending.status, pending.pendingOperation?._tag], ["requires_capture", "Void"])
        const capture = yield* Effect.flip(service.capture({ merchantId, paymentId: p.id }))
        assert.strictEqual(capture._tag, "InvalidTransition", "no capture while a void is pending")
        const report = yield* Context.get(context, Reconciler.Reconciler).runOnce
        assert.strictEqual(report.resolved.voided, 1, JSON.stringify(report))
        assert.strictEqual((yield* service.get(merchantId, p.id)).status, "cancelled")
        assert.deepStrictEqual(
          (yield* ga.operations).map((o) => [o.operation, o.idempotencyKey]),
          [
            ["void", `${p.id}:void`],
            ["void", `${p.id}:void`]
          ]
        )
        const voided = (yield* service.events(merchantId, p.id)).at(-1)?.event
        assert.strictEqual(voided?._tag === "PaymentVoided" ? voided.reason : "", "out of stock")
      })
  )

  it.scoped(
    "a refund the reconciler cannot settle is reported an hour after the refund, not after the payment",
    () =>
      Effect.gen(function* () {
        const { context } = yield* setup([{ _tag: "Approve" }], undefined, {}, [{ _tag: "RefundThenLose" }])
        const service = Context.get(context, PaymentService.PaymentService)
        const reconciler = Context.get(context, Reconciler.Reconciler)
        const { value: p } = yield* service.create(input())
        // refunded two hours after the payment: the PSP's answers are lost, every time
        yield* TestClock.adjust("2 hours")
        const { value: refund } = yield* service.refund({ merchantId, paymentId: p.id, amount: 1_000n })
        assert.strictEqual(refund.status, "pending")
        assert.strictEqual((yield* reconciler.runOnce).resolved.still_unknown, 1)
        assert.deepStrictEqual(yield* reconciler.unresolved, [], "the refund is minutes old, not two hours")
        yield* TestClock.adjust("30 minutes")
        yield* reconciler.runOnce
        assert.deepStrictEqual(yield* reconciler.unresolved, [])
        yield* TestClock.adjust("31 minutes")
        yield* reconciler.runOnce
        const [reported] = yield* reconciler.unresolved
        assert.strictEqual(reported?.paymentId, p.id)
        assert.strictEqual(
          reported?.since.getTime(),
          refund.createdAt.epochMillis,
          "since the refund request"
        )
      })
  )

  it.scoped("a capture the reconciler cannot settle stays pending and is reported past the deadline", () =>
    Effect.gen(function* () {
      const { context } = yield* setup([{ _tag: "Approve" }], undefined, {}, [], {
        capture: [{ _tag: "Fail", error: Scripted.ambiguous("a") }]
      })
      const service = Context.get(context, PaymentService.PaymentService)
      const reconciler = Context.get(context, Reconciler.Reconciler)
      const { value: p } = yield* service.create(input({ captureMethod: "manual" }))
      yield* Effect.flip(service.capture({ merchantId, paymentId: p.id }))
      const report = yield* reconciler.runOnce
      assert.strictEqual(report.resolved.still_unknown, 1)
      assert.deepStrictEqual(yield* reconciler.unresolved, [])
      yield* TestClock.adjust("61 minutes")
      yield* reconciler.runOnce
      assert.deepStrictEqual(
        (yield* reconciler.unresolved).map((u) => [u.paymentId, u.lastOutcome]),
        [[p.id, "still_unknown"]]
      )
      assert.strictEqual((yield* service.get(merchantId, p.id)).pendingOperation?._tag, "Capture")
    })
  )
})
