import { Outbox } from "@aegispay/core"
import { Webhooks } from "@aegispay/infra"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { createServer, type IncomingHttpHeaders } from "node:http"

const secret = Redacted.make("whsec_test_secret")

/** A receiver on loopback that fails the first delivery with a 500, then accepts. */
const receiver = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{
        url: string
        received: Array<{ headers: IncomingHttpHeaders; body: string }>
        close: () => void
      }>((resolve) => {
        const received: Array<{ headers: IncomingHttpHeaders; body: string }> = []
        const server = createServer((req, res) => {
          let body = ""
          req.on("data", (c: Buffer) => (body += c.toString()))
          req.on("end", () => {
            received.push({ headers: req.headers, body })
            res.statusCode = received.length === 1 ? 500 : 204
            res.end()
          })
        }).listen(0, "127.0.0.1", () => {
          const a = server.address()
          resolve({
            url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/hooks`,
            received,
            close: () => server.close()
          })
        })
      })
  ),
  (r) => Effect.sync(r.close)
)

describe("Webhooks", () => {
  it.live("signs timestamp and body with HMAC-SHA256, retries a failed delivery, and verifies", () =>
    Effect.gen(function* () {
      const r = yield* receiver
      const publisher = yield* Webhooks.make({ url: r.url, secret })
      const message = new Outbox.OutboxMessage({
        eventId: "evt_01J9Z8X6Q2M4T7V3B5N8R1K0CD" as Outbox.OutboxMessage["eventId"],
        streamId: "pay_01J9Z8X6Q2M4T7V3B5N8R1K0CD" as Outbox.OutboxMessage["streamId"],
        version: 1,
        topic: "payments.PaymentInitiated",
        payload: '{"event":"x"}',
        headers: {
          "event-id": "evt_01J9Z8X6Q2M4T7V3B5N8R1K0CD",
          "correlation-id": "corr-1",
          traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        },
        attempts: 0
      })
      yield* publisher.publish(message)
      assert.strictEqual(r.received.length, 2, "retried after the 500")
      const last = r.received[1]!
      assert.strictEqual(last.body, message.payload)
      assert.strictEqual(last.headers["aegispay-event-id"], "evt_01J9Z8X6Q2M4T7V3B5N8R1K0CD")
      assert.strictEqual(last.headers["aegispay-traceparent"], message.headers["traceparent"])
      assert.strictEqual(last.headers["aegispay-correlation-id"], "corr-1")
      const header = String(last.headers["aegispay-signature"])
      const t = Number(/t=(\d+)/.exec(header)![1])
      assert.isTrue(Webhooks.verify(secret, header, last.body, t))
      assert.isFalse(Webhooks.verify(secret, header, `${last.body} `, t), "another body")
      assert.isFalse(Webhooks.verify(Redacted.make("other"), header, last.body, t), "another secret")
      assert.isFalse(Webhooks.verify(secret, header, last.body, t + 301), "too old")
    }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))
  )
})
