import { Card, Currency, Customer, type Gateway, type Ids, Money } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Either, Layer, Redacted, Schema } from "effect"
import { createServer } from "node:net"

const SECRET = "sk_test_supersecret_4f9a"
const id = "stripe-test" as Ids.GatewayId
const keyOf = (n: number) => `pay_01J9Z8X6Q2M4T7V3B5N8R1K${String(n).padStart(3, "0")}:1` as Ids.AttemptKey
const card = (number: string) =>
  Schema.decodeUnknownSync(Card.CardDetails)({ number, expMonth: 12, expYear: 2030, cvc: "123" })
const request = (
  n: number,
  number = "4242424242424242",
  captureMethod: "automatic" | "manual" = "automatic"
): Gateway.AuthorizeRequest => ({
  idempotencyKey: keyOf(n),
  amount: Money.make(2_000n, Currency.make("USD")),
  captureMethod,
  paymentMethod: { _tag: "Card", card: card(number) },
  customer: new Customer.Customer({ id: "cus_1" as Ids.CustomerId }),
  metadata: { order: `o-${n}` }
})

/** A Stripe gateway pointed at a fresh simulator. */
const withStripe = <A, E>(
  f: (stripe: Gateway.Gateway, sim: Simulator.Service) => Effect.Effect<A, E>,
  options: { readonly timeout?: Duration.DurationInput; readonly apiKey?: string } = {}
) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    const stripe = yield* Stripe.make({
      id,
      baseUrl: sim.url,
      apiKey: Redacted.make(options.apiKey ?? SECRET),
      timeout: options.timeout ?? "2 seconds"
    })
    return yield* f(stripe, sim)
  }).pipe(
    Effect.provide(
      Layer.merge(Layer.fresh(Simulator.layer({ name: "st", hang: "3 seconds" })), FetchHttpClient.layer)
    )
  )

const failure = <A>(r: Either.Either<A, { readonly _tag: string; readonly code: string }>) =>
  Either.isLeft(r) ? `${r.left._tag}:${r.left.code}` : "success"

describe("Stripe adapter against the simulator, over HTTP", () => {
  it.live("maps every test card", () =>
    withStripe((stripe) =>
      Effect.gen(function* () {
        const ok = yield* stripe.authorize(request(1))
        assert.strictEqual(ok.status, "captured")
        assert.strictEqual(ok.amountCaptured, 2_000n)
        assert.match(ok.pspRequestId ?? "", /^req_/)
        const outcomes: Array<[string, string]> = [
          ["4000000000000002", "SoftDecline:generic_decline"],
          ["4000000000009995", "HardDecline:insufficient_funds"],
          ["4000000000000069", "HardDecline:expired_card"],
          ["4000000000000119", "SoftDecline:processing_error"]
        ]
        for (const [i, [number, expected]] of outcomes.entries()) {
          const r = yield* Effect.either(stripe.authorize(request(10 + i, number)))
          assert.strictEqual(failure(r), expected, number)
          if (Either.isLeft(r)) assert.match(r.left.pspRequestId ?? "", /^req_/)
        }
      })
    )
  )

  it.live("manual capture, partial capture, void and refunds", () =>
    withStripe((stripe) =>
      Effect.gen(function* () {
        const auth = yield* stripe.authorize(request(2, "4242424242424242", "manual"))
        assert.strictEqual(auth.status, "authorized")
        const captured = yield* stripe.capture({
          gatewayReference: auth.gatewayReference,
          amount: Money.make(1_500n, Currency.make("USD")),
          idempotencyKey: "cap-2"
        })
        assert.deepStrictEqual([captured.status, captured.amountCaptured], ["captured", 1_500n])
        const refund = yield* stripe.refund({
          gatewayReference: auth.gatewayReference,
          amount: Money.make(500n, Currency.make("USD")),
          idempotencyKey: "re-2"
        })
        assert.deepStrictEqual([refund.status, refund.amount], ["succeeded", 500n])
        const tooMuch = yield* Effect.either(
          stripe.refund({
            gatewayReference: auth.gatewayReference,
            amount: Money.make(5_000n, Currency.make("USD")),
            idempotencyKey: "re-3"
          })
        )
        assert.strictEqual(failure(tooMuch), "Misconfigured:amount_too_large")
        const other = yield* stripe.authorize(request(3, "4242424242424242", "manual"))
        const voided = yield* stripe.void({
          gatewayReference: other.gatewayReference,
          idempotencyKey: "void-3"
        })
        assert.strictEqual(voided.status, "voided")
      })
    )
  )

  it.live(
    "a lost response is Ambiguous; the status call finds the charge; replaying the key charges nothing more",
    () =>
      withStripe((stripe, sim) =>
        Effect.gen(function* () {
          assert.deepStrictEqual(yield* stripe.status(keyOf(4)), { _tag: "NotFound" })
          yield* sim.setFaults({ lostResponseRate: 1 })
          const lost = yield* Effect.either(stripe.authorize(request(4)))
          assert.strictEqual(Either.isLeft(lost) && lost.left._tag, "Ambiguous")
          yield* sim.setFaults({})
          const found = yield* stripe.status(keyOf(4))
          assert.strictEqual(found._tag, "Found")
          if (found._tag === "Found") assert.strictEqual(found.payment.status, "captured")
          const replay = yield* stripe.authorize(request(4))
          assert.strictEqual(replay.status, "captured")
          const charges = (yield* sim.ledger).filter((e) => e.idempotency_key === keyOf(4))
          assert.strictEqual(charges.length, 1, "one charge for the attempt key")
        })
      )
  )

  it.live("a decline is found by the status call as Declined", () =>
    withStripe((stripe) =>
      Effect.gen(function* () {
        yield* Effect.either(stripe.authorize(request(5, "4000000000009995")))
        const found = yield* stripe.status(keyOf(5))
        assert.strictEqual(found._tag === "Declined" ? found.error._tag : found._tag, "HardDecline")
      })
    )
  )

  it.live(
    "server errors are retried with the same key, then Ambiguous; timeouts are Ambiguous; nothing is charged",
    () =>
      withStripe(
        (stripe, sim) =>
          Effect.gen(function* () {
            yield* sim.setFaults({ errorRate: 1 })
            assert.strictEqual(
              failure(yield* Effect.either(stripe.authorize(request(6)))),
              "Ambiguous:server_error_500"
            )
            yield* sim.setFaults({ timeoutRate: 1 })
            assert.strictEqual(
              failure(yield* Effect.either(stripe.authorize(request(7)))),
              "Ambiguous:timeout"
            )
            yield* sim.setFaults({})
            assert.strictEqual((yield* sim.ledger).length, 0)
          }),
        { timeout: "500 millis" }
      )
  )

  it.live("a wrong key is Misconfigured and no error carries the secret or the card", () =>
    withStripe(
      (stripe) =>
        Effect.gen(function* () {
          const r = yield* Effect.either(stripe.authorize(request(8)))
          assert.strictEqual(failure(r), "Misconfigured:authentication_failed")
          const text = Either.isLeft(r) ? `${r.left.message} ${JSON.stringify(r.left)}` : ""
          assert.notInclude(text, "sk_live_oops")
          assert.notInclude(text, "4242424242424242")
        }),
      { apiKey: "sk_live_oops" }
    )
  )

  it.live("a refused connection is Retryable (nothing was sent)", () =>
    Effect.gen(function* () {
      // a port that was free a moment ago: nothing listens there now
      const port = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) => {
            const server = createServer().listen(0, "127.0.0.1", () => {
              const address = server.address()
              server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
            })
          })
      )
      const stripe = yield* Stripe.make({
        id,
        baseUrl: `http://127.0.0.1:${port}`,
        apiKey: Redacted.make(SECRET),
        timeout: "2 seconds"
      })
      const r = yield* Effect.either(stripe.authorize(request(9)))
      assert.strictEqual(failure(r), "Retryable:connection_refused")
      assert.notInclude(JSON.stringify(Either.isLeft(r) ? r.left : {}), SECRET)
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )
})
