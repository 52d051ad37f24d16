import { Simulator } from "@aegispay/simulator"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"

const auth = { authorization: "Bearer sk_test_123" }

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: Record<string, unknown>
  readonly text: string
}

const call = (
  url: string,
  path: string,
  init: {
    method?: string
    form?: Record<string, string>
    key?: string
    headers?: Record<string, string>
    json?: unknown
  } = {}
) =>
  Effect.promise(async (): Promise<Reply> => {
    const headers: Record<string, string> = { ...auth, ...init.headers }
    if (init.key) headers["idempotency-key"] = init.key
    let body: string | undefined
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded"
      body = new URLSearchParams(init.form).toString()
    }
    if (init.json !== undefined) {
      headers["content-type"] = "application/json"
      body = JSON.stringify(init.json)
    }
    const res = await fetch(url + path, {
      method: init.method ?? (body ? "POST" : "GET"),
      headers,
      ...(body ? { body } : {})
    })
    const text = await res.text()
    return {
      status: res.status,
      headers: res.headers,
      text,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {}
    }
  })

const charge = (card: string, extra: Record<string, string> = {}) => ({
  amount: "2000",
  currency: "usd",
  confirm: "true",
  "payment_method_data[type]": "card",
  "payment_method_data[card][number]": card,
  "payment_method_data[card][exp_month]": "12",
  "payment_method_data[card][exp_year]": "2030",
  "payment_method_data[card][cvc]": "123",
  ...extra
})

const error = (r: Reply) => r.body["error"] as Record<string, string>

describe("Simulator over HTTP", () => {
  layer(Simulator.layer({ name: "t" }), { excludeTestServices: true })((it) => {
    it.effect("honours Stripe's test cards", () =>
      Effect.gen(function* () {
        const { url } = yield* Simulator.Simulator
        const ok = yield* call(url, "/v1/payment_intents", { form: charge("4242424242424242") })
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body["status"], "succeeded")
        assert.strictEqual(ok.body["amount_received"], 2000)
        assert.match(String(ok.body["id"]), /^pi_/)
        assert.match(ok.headers.get("request-id") ?? "", /^req_/)
        const cases: Array<[string, string, string]> = [
          ["4000000000000002", "card_declined", "generic_decline"],
          ["4000000000009995", "card_declined", "insufficient_funds"],
          ["4000000000000069", "expired_card", "expired_card"],
          ["4000000000000119", "processing_error", "processing_error"]
        ]
        for (const [card, code, decline] of cases) {
          const r = yield* call(url, "/v1/payment_intents", { form: charge(card) })
          assert.strictEqual(r.status, 402, card)
          assert.deepStrictEqual(
            [error(r)["type"], error(r)["code"], error(r)["decline_code"]],
            ["card_error", code, decline]
          )
        }
        const ledger = yield* (yield* Simulator.Simulator).ledger
        assert.strictEqual(
          ledger.filter((e) => e.amount_captured > 0).length,
          1,
          "only the good card was charged"
        )
      })
    )

    it.effect("manual capture in part, cancel, refunds up to what was captured", () =>
      Effect.gen(function* () {
        const { url } = yield* Simulator.Simulator
        const auth = yield* call(url, "/v1/payment_intents", {
          form: charge("4242424242424242", { capture_method: "manual" })
        })
        assert.strictEqual(auth.body["status"], "requires_capture")
        const id = String(auth.body["id"])
        const captured = yield* call(url, `/v1/payment_intents/${id}/capture`, {
          form: { amount_to_capture: "1500" }
        })
        assert.deepStrictEqual(
          [captured.body["status"], captured.body["amount_received"]],
          ["succeeded", 1500]
        )
        const r1 = yield* call(url, "/v1/refunds", { form: { payment_intent: id, amount: "1000" } })
        assert.deepStrictEqual([r1.status, r1.body["object"], r1.body["amount"]], [200, "refund", 1000])
        const over = yield* call(url, "/v1/refunds", { form: { payment_intent: id, amount: "501" } })
        assert.strictEqual(over.status, 400)
        assert.strictEqual(error(over)["code"], "amount_too_large")
        const rest = yield* call(url, "/v1/refunds", { form: { payment_intent: id } })
        assert.strictEqual(rest.body["amount"], 500)
        const other = yield* call(url, "/v1/payment_intents", {
          form: charge("4242424242424242", { capture_method: "manual" })
        })
        const cancelled = yield* call(url, `/v1/payment_intents/${String(other.body["id"])}/cancel`, {
          method: "POST"
        })
        assert.strictEqual(cancelled.body["status"], "canceled")
        const got = yield* call(url, `/v1/payment_intents/${id}`)
        assert.strictEqual(got.body["amount_received"], 1500)
        const missing = yield* call(url, "/v1/payment_intents/pi_nope")
        assert.strictEqual(missing.status, 404)
      })
    )

    it.effect("replays the same Idempotency-Key and body; refuses another body; searches by metadata", () =>
      Effect.gen(function* () {
        const { url } = yield* Simulator.Simulator
        const form = charge("4242424242424242", { "metadata[aegispay_attempt_key]": "pay_X:1" })
        const first = yield* call(url, "/v1/payment_intents", { form, key: "pay_X:1" })
        const again = yield* call(url, "/v1/payment_intents", { form, key: "pay_X:1" })
        assert.strictEqual(again.text, first.text)
        assert.strictEqual(again.headers.get("idempotent-replayed"), "true")
        const other = yield* call(url, "/v1/payment_intents", {
          form: { ...form, amount: "1" },
          key: "pay_X:1"
        })
        assert.strictEqual(other.status, 400)
        assert.strictEqual(error(other)["type"], "idempotency_error")
        const found = yield* call(
          url,
          `/v1/payment_intents/search?query=${encodeURIComponent("metadata['aegispay_attempt_key']:'pay_X:1'")}`
        )
        assert.strictEqual(found.body["object"], "search_result")
        assert.deepStrictEqual(
          (found.body["data"] as Array<{ id: string }>).map((i) => i.id),
          [first.body["id"]]
        )
        const ledger = yield* (yield* Simulator.Simulator).ledger
        assert.strictEqual(ledger.filter((e) => e.idempotency_key === "pay_X:1").length, 1)
      })
    )

    it.effect("rejects a missing or wrong key and bad fault settings", () =>
      Effect.gen(function* () {
        const { url } = yield* Simulator.Simulator
        const r = yield* call(url, "/v1/payment_intents/pi_1", {
          headers: { authorization: "Bearer sk_live_x" }
        })
        assert.strictEqual(r.status, 401)
        const bad = yield* call(url, "/_sim/faults", { json: { errorRate: 1.5 } })
        assert.strictEqual(bad.status, 400)
        const unknown = yield* call(url, "/_sim/faults", { json: { explode: true } })
        assert.strictEqual(unknown.status, 400)
      })
    )
  })

  it.live(
    "faults: a seeded error rate replays; a lost response charges once and a retry replays it; {} clears",
    () =>
      Effect.gen(function* () {
        const runErrors = Effect.gen(function* () {
          const sim = yield* Simulator.Simulator
          yield* call(sim.url, "/_sim/faults", { json: { seed: 7, errorRate: 0.3 } })
          const statuses: Array<number> = []
          for (let i = 0; i < 30; i++)
            statuses.push(
              (yield* call(sim.url, "/v1/payment_intents", { form: charge("4242424242424242") })).status
            )
          return statuses
        })
        const a = yield* runErrors.pipe(Effect.provide(Layer.fresh(Simulator.layer())))
        const b = yield* runErrors.pipe(Effect.provide(Layer.fresh(Simulator.layer())))
        assert.deepStrictEqual(a, b)
        assert.isTrue(a.includes(500) && a.includes(200))

        yield* Effect.gen(function* () {
          const sim = yield* Simulator.Simulator
          yield* call(sim.url, "/_sim/faults", { json: { lostResponseRate: 1 } })
          const lost = yield* Effect.either(
            Effect.tryPromise(() =>
              fetch(`${sim.url}/v1/payment_intents`, {
                method: "POST",
                headers: {
                  ...auth,
                  "idempotency-key": "pay_L:1",
                  "content-type": "application/x-www-form-urlencoded"
                },
                body: new URLSearchParams(charge("4242424242424242")).toString()
              })
            )
          )
          assert.isTrue(lost._tag === "Left", "no reply arrives")
          assert.strictEqual(
            (yield* sim.ledger).filter((e) => e.amount_captured > 0).length,
            1,
            "but the charge happened"
          )
          yield* call(sim.url, "/_sim/faults", { json: {} })
          const retry = yield* call(sim.url, "/v1/payment_intents", {
            form: charge("4242424242424242"),
            key: "pay_L:1"
          })
          assert.strictEqual(retry.status, 200)
          assert.strictEqual(retry.headers.get("idempotent-replayed"), "true")
          assert.strictEqual((yield* sim.ledger).length, 1, "no second charge")
        }).pipe(Effect.provide(Layer.fresh(Simulator.layer())))
      })
  )
})
