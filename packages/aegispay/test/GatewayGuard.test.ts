import { Card, Currency, Customer, Gateway, Ids, Money } from "@aegispay/core"
import { assert, describe, it } from "@effect/vitest"
import { AegisPay, GatewayGuard, Metrics, PaymentService } from "aegispay"
import { Context, Effect, Either, Fiber, Layer, Metric, Ref, Schema, TestClock } from "effect"
import { Memory } from "@aegispay/infra"
import * as Scripted from "./support/ScriptedGateway.js"

const gatewayA = "a" as Ids.GatewayId
/** Builds the guard for the life of the test's scope (its breakers publish changes until then). */
const build = (layer: Layer.Layer<GatewayGuard.GatewayGuard>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, GatewayGuard.GatewayGuard))

describe("GatewayGuard over @aegispay/resilience", () => {
  it.scoped("retries Retryable with the same request, never a decline or an ambiguous outcome", () =>
    Effect.gen(function* () {
      const guard = yield* Effect.provide(
        GatewayGuard.GatewayGuard,
        GatewayGuard.layer({ retry: { jitter: 0 } })
      )
      const attempts = yield* Ref.make(0)
      const failing = (error: Parameters<typeof Effect.fail>[0]) =>
        Effect.zipRight(
          Ref.update(attempts, (n) => n + 1),
          Effect.fail(error as never)
        )
      const fiber = yield* Effect.fork(Effect.either(guard.call(gatewayA, failing(Scripted.retryable("a")))))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      assert.strictEqual(yield* Ref.get(attempts), 3, "3 attempts in all")
      const retries = Metric.value(Metrics.retries.pipe(Metric.tagged("gateway", gatewayA)))
      assert.strictEqual((yield* retries).count, 2, "3 attempts are 2 retries")
      for (const error of [Scripted.hard("a"), Scripted.soft("a"), Scripted.ambiguous("a")]) {
        yield* Ref.set(attempts, 0)
        yield* Effect.either(guard.call(gatewayA, failing(error)))
        assert.strictEqual(yield* Ref.get(attempts), 1, error._tag)
      }
      assert.strictEqual((yield* retries).count, 2, "a failure that is not retried counts no retry")
    })
  )

  it.scoped("declines never open the breaker; PSP failures do, and the router then skips the gateway", () =>
    Effect.gen(function* () {
      const guard = yield* build(
        GatewayGuard.layer({ breaker: { consecutiveFailures: 3 }, retry: { maxAttempts: 1 } })
      )
      const psp = yield* Scripted.make("a", [{ _tag: "Approve" }])
      for (let i = 0; i < 10; i++) yield* Effect.either(guard.call(gatewayA, Effect.fail(Scripted.hard("a"))))
      assert.strictEqual((yield* guard.snapshot(psp.gateway)).circuit, "closed")
      for (let i = 0; i < 3; i++)
        yield* Effect.either(guard.call(gatewayA, Effect.fail(Scripted.ambiguous("a"))))
      const snapshot = yield* guard.snapshot(psp.gateway)
      assert.strictEqual(snapshot.circuit, "open")
      assert.isBelow(snapshot.successRate, 1)
      const refused = yield* Effect.either(guard.call(gatewayA, Effect.succeed(1)))
      assert.isTrue(Either.isLeft(refused) && refused.left._tag === "GatewayRefused")
      // past the open timeout the snapshot reads half-open, so the router offers it a trial call
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual((yield* guard.snapshot(psp.gateway)).circuit, "half_open")
      assert.isTrue(Either.isRight(yield* Effect.either(guard.call(gatewayA, Effect.succeed(1)))))
    })
  )

  it.scoped("an open breaker: the orchestrator skips that gateway", () =>
    Effect.gen(function* () {
      const a = yield* Scripted.make("a", [{ _tag: "Approve" }])
      const b = yield* Scripted.make("b", [{ _tag: "Approve" }])
      const app = AegisPay.compose(
        {
          stores: Memory.layer().pipe(Layer.provide(Ids.layerRandom)),
          gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([a.gateway, b.gateway])),
          guard: GatewayGuard.layer({ breaker: { consecutiveFailures: 1 } })
        },
        { strategy: { _tag: "RoundRobin" }, reconciler: { background: false } }
      )
      const context = yield* Layer.build(app)
      const guard = Context.get(context, GatewayGuard.GatewayGuard)
      yield* Effect.either(guard.call(gatewayA, Effect.fail(Scripted.ambiguous("a"))))
      const service = Context.get(context, PaymentService.PaymentService)
      const card = Schema.decodeUnknownSync(Card.CardDetails)({
        number: "4242424242424242",
        expMonth: 1,
        expYear: 2031
      })
      for (let i = 0; i < 4; i++) {
        const { value } = yield* service.create({
          merchantId: "m" as Ids.MerchantId,
          amount: Money.make(100n, Currency.make("EUR")),
          customer: new Customer.Customer({ id: "c" as Ids.CustomerId }),
          card
        })
        assert.strictEqual(value.gateway, "b")
        assert.include(value.attempts[0]?.routing?.reason ?? "", "a (circuit open)")
      }
      assert.deepStrictEqual(yield* a.calls, [])
    })
  )
})
