/**
 * Trace and correlation propagation over real HTTP: the caller's W3C `traceparent` becomes the
 * parent of the server's spans, travels on the outbound PSP call, and is stored with the events and
 * in the outbox headers, next to the correlation id, so a consumer can continue the trace; JSON log
 * lines carry the trace id and the correlation id.
 */
import { assert, describe, it } from "@effect/vitest"
import { Outbox } from "@aegispay/core"
import { Context, Effect, Schedule } from "effect"
import { createServer, type IncomingHttpHeaders } from "node:http"
import * as Stack from "./support/stack.js"

const TRACE = "0af7651916cd43dd8448eb211c80319c"
const PARENT = "b7ad6b7169203331"

/** A loopback proxy in front of the simulator that records the headers of every request. */
const recordingProxy =
  (seen: Array<{ readonly path: string; readonly headers: IncomingHttpHeaders }>) => (target: string) =>
    Effect.acquireRelease(
      Effect.async<ReturnType<typeof createServer>>((resume) => {
        const server = createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => chunks.push(c))
          req.on("end", () => {
            seen.push({ path: req.url ?? "", headers: req.headers })
            const headers = Object.fromEntries(
              Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "content-length")
            ) as Record<string, string>
            const body = Buffer.concat(chunks)
            void fetch(target + (req.url ?? ""), {
              method: req.method ?? "GET",
              headers,
              ...(body.length > 0 ? { body } : {})
            }).then(
              async (r) => {
                res.writeHead(r.status, {
                  "content-type": r.headers.get("content-type") ?? "application/json"
                })
                res.end(await r.text())
              },
              () => {
                res.writeHead(502)
                res.end()
              }
            )
          })
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
    ).pipe(
      Effect.map((server) => {
        const address = server.address()
        return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
      })
    )

describe("trace and correlation propagation", () => {
  for (const backend of Stack.backends) {
    it.scopedLive(
      `${backend}: traceparent in, on the PSP call, in events and outbox headers; ids in log lines`,
      () =>
        Effect.gen(function* () {
          const seen: Array<{ readonly path: string; readonly headers: IncomingHttpHeaders }> = []
          const stack = yield* Stack.start(backend, { pspUrl: recordingProxy(seen) })
          const reply = yield* Stack.call(
            stack,
            "/v1/payments",
            {
              amount: 5000,
              currency: "EUR",
              customer: { id: "cus_trace" },
              paymentMethod: {
                type: "card",
                card: { number: "4242424242424242", expMonth: 1, expYear: 2032, cvc: "314" }
              }
            },
            { traceparent: `00-${TRACE}-${PARENT}-01`, "x-correlation-id": "corr-trace-1" }
          )
          assert.strictEqual(reply.status, 201)
          assert.strictEqual(reply.headers.get("x-correlation-id"), "corr-trace-1")
          const paymentId = String(reply.body["id"])

          // spans: the server's root span is a child of the caller's span, the payment's spans in the trace
          const spans = stack.exporter.getFinishedSpans()
          const create = spans.find((s) => s.name === "PaymentService.create")
          assert.isDefined(create)
          assert.strictEqual(create!.spanContext().traceId, TRACE)
          const roots = spans.filter((s) => s.parentSpanContext?.spanId === PARENT)
          assert.isAbove(roots.length, 0, "a span whose parent is the caller's")
          assert.isTrue(roots.every((s) => s.spanContext().traceId === TRACE))

          // the outbound PSP call carries a traceparent in the same trace
          const pspCall = seen.find((r) => r.path.startsWith("/v1/payment_intents"))
          assert.isDefined(pspCall, "the PSP was called through the proxy")
          assert.match(
            String(pspCall!.headers["traceparent"]),
            new RegExp(`^00-${TRACE}-[0-9a-f]{16}-0[01]$`)
          )

          // event metadata and outbox headers carry the correlation id and the trace
          const outbox = Context.get(stack.context, Outbox.Outbox)
          yield* outbox.backlog.pipe(
            Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (b) => b.pending === 0 }),
            Effect.timeout("20 seconds")
          )
          const messages = stack.published.filter((m) => m.streamId === paymentId)
          assert.isAbove(messages.length, 1)
          for (const m of messages) {
            assert.strictEqual(m.headers["correlation-id"], "corr-trace-1")
            assert.match(String(m.headers["traceparent"]), new RegExp(`^00-${TRACE}-`))
            const recorded = JSON.parse(m.payload) as {
              metadata: { correlationId?: string; traceparent?: string }
            }
            assert.strictEqual(recorded.metadata.correlationId, "corr-trace-1")
            assert.match(String(recorded.metadata.traceparent), new RegExp(`^00-${TRACE}-`))
          }

          // JSON log lines of the payment carry correlation, trace, span, payment and merchant ids
          const created = stack.json
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .find((l) => l["message"] === "payment created" && l["paymentId"] === paymentId)
          assert.isDefined(created)
          assert.strictEqual(created!["correlationId"], "corr-trace-1")
          assert.strictEqual(created!["traceId"], TRACE)
          assert.match(String(created!["spanId"]), /^[0-9a-f]{16}$/)
          assert.strictEqual(created!["merchantId"], "merchant_e2e")
          for (const key of ["timestamp", "level"]) assert.property(created!, key)
          // and one access line for the request
          const access = stack.json
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .find((l) => l["message"] === "http request" && l["path"] === "/v1/payments")
          assert.isDefined(access)
          assert.deepStrictEqual(
            [access!["method"], access!["status"], access!["correlationId"], access!["traceId"]],
            ["POST", 201, "corr-trace-1", TRACE]
          )
        }),
      120_000
    )
  }
})
