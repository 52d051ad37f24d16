/**
 * `GET /metrics` over HTTP: the whole answer parses as Prometheus text, and its counters and
 * histograms move with the payments made (deltas between two scrapes, so other suites' traffic in
 * the same process cannot disturb them).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Prometheus from "./support/prometheus.js"
import * as Stack from "./support/stack.js"

const card = (number: string) => ({ type: "card", card: { number, expMonth: 3, expYear: 2033, cvc: "321" } })
const body = (number: string) => ({
  amount: 700,
  currency: "GBP",
  customer: { id: "cus_metrics" },
  paymentMethod: card(number)
})

describe("/metrics", () => {
  it.scopedLive(
    "parses as Prometheus text; payments, gateway calls, durations and replays move with traffic",
    () =>
      Effect.gen(function* () {
        const stack = yield* Stack.start("PGlite")
        const scrape = Effect.map(Stack.call(stack, "/metrics", undefined, { authorization: "" }), (r) => {
          assert.strictEqual(r.status, 200)
          assert.match(r.headers.get("content-type") ?? "", /^text\/plain/)
          return Prometheus.parse(r.text)
        })
        const before = yield* scrape

        const ok = yield* Stack.call(stack, "/v1/payments", body("4242424242424242"), {
          "idempotency-key": "m-1"
        })
        assert.strictEqual(ok.body["status"], "succeeded")
        const replay = yield* Stack.call(stack, "/v1/payments", body("4242424242424242"), {
          "idempotency-key": "m-1"
        })
        assert.strictEqual(replay.headers.get("idempotent-replayed"), "true")
        const declined = yield* Stack.call(stack, "/v1/payments", body("4000000000009995"))
        assert.strictEqual(declined.body["status"], "failed")

        const after = yield* scrape
        const delta = (name: string, labels: Record<string, string> = {}) =>
          Prometheus.total(after, name, labels) - Prometheus.total(before, name, labels)
        assert.strictEqual(delta("aegispay_payments_total", { status: "succeeded", currency: "GBP" }), 1)
        assert.strictEqual(delta("aegispay_payments_total", { status: "failed", currency: "GBP" }), 1)
        assert.strictEqual(delta("aegispay_payment_duration_seconds_count"), 2)
        assert.strictEqual(delta("aegispay_gateway_calls_total", { gateway: "sim-e2e" }), 2)
        assert.strictEqual(delta("aegispay_gateway_call_duration_seconds_count", { gateway: "sim-e2e" }), 2)
        assert.strictEqual(delta("aegispay_idempotent_replays_total"), 1)
        const breaker = after.find(
          (s) => s.name === "aegispay_circuit_breaker_state" && s.labels["gateway"] === "sim-e2e"
        )
        assert.strictEqual(breaker?.value, 0, "the breaker is closed")
        // a histogram's buckets are cumulative and end with +Inf equal to its count
        const buckets = after.filter((s) => s.name === "aegispay_payment_duration_seconds_bucket")
        assert.isAbove(buckets.length, 2)
        const values = buckets.map((b) => b.value)
        assert.deepStrictEqual(
          values,
          [...values].sort((a, b) => a - b)
        )
        assert.strictEqual(
          buckets.find((b) => b.labels["le"] === "+Inf")?.value,
          Prometheus.total(after, "aegispay_payment_duration_seconds_count")
        )
      }),
    120_000
  )
})
