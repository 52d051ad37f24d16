import { Card, Currency, Customer, Gateway, Ids, Money } from "@aegispay/core"
import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { AegisPay, PaymentService, Telemetry } from "aegispay"
import { Effect, Layer, Metric, Schema, Tracer } from "effect"
import { createServer, type Server } from "node:http"
import { Memory } from "@aegispay/infra"
import * as PassThrough from "./support/PassThroughGuard.js"
import * as Scripted from "./support/ScriptedGateway.js"

const card = Schema.decodeUnknownSync(Card.CardDetails)({
  number: "4000056655665556",
  expMonth: 12,
  expYear: 2030,
  cvc: "987"
})

describe("Telemetry", () => {
  it.live(
    "one payment's span tree, under the caller's trace parent, and its metrics in Prometheus text",
    () =>
      Effect.gen(function* () {
        const exporter = new InMemorySpanExporter()
        const gateway = yield* Scripted.make("psp-1", [{ _tag: "Approve" }])
        const app = AegisPay.compose(
          {
            stores: Memory.layer().pipe(Layer.provide(Ids.layerRandom)),
            gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([gateway.gateway])),
            guard: PassThrough.layer
          },
          { reconciler: { background: false } }
        )
        const telemetry = Telemetry.layer({
          serviceName: "test",
          spanProcessors: [new SimpleSpanProcessor(exporter)]
        })
        const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        const parent = Tracer.externalSpan({ traceId, spanId: "00f067aa0ba902b7", sampled: true })
        const { spans, text } = yield* Effect.gen(function* () {
          const service = yield* PaymentService.PaymentService
          yield* service
            .create({
              merchantId: "m_1" as Ids.MerchantId,
              idempotencyKey: "k-1" as Ids.IdempotencyKey,
              amount: Money.make(2500n, Currency.make("USD")),
              customer: new Customer.Customer({ id: "cus_9" as Ids.CustomerId }),
              card
            })
            .pipe(Effect.withParentSpan(parent))
          const text = yield* Effect.flatMap(Telemetry.Telemetry, (t) => t.prometheus)
          // read the spans before the layer closes: shutting the provider down clears the exporter
          return { text, spans: exporter.getFinishedSpans() }
        }).pipe(Effect.provide(Layer.merge(app, telemetry)))

        const byName = new Map(spans.map((s) => [s.name, s]))
        const root = byName.get("PaymentService.create")
        assert.isDefined(root)
        assert.strictEqual(root!.spanContext().traceId, traceId, "the caller's trace continues")
        assert.strictEqual(root!.parentSpanContext?.spanId, "00f067aa0ba902b7")
        for (const name of [
          "IdempotencyStore.claim",
          "LockManager.withLock",
          "Router.route",
          "EventStore.append",
          "Gateway.authorize"
        ]) {
          const span = byName.get(name)
          assert.isDefined(span, `span ${name}`)
          assert.strictEqual(span!.spanContext().traceId, traceId)
        }
        const lock = byName.get("LockManager.withLock")!
        assert.strictEqual(
          byName.get("Gateway.authorize")!.parentSpanContext?.spanId,
          lock.spanContext().spanId
        )
        assert.strictEqual(byName.get("Gateway.authorize")!.attributes["gateway"], "psp-1")
        assert.strictEqual(lock.parentSpanContext?.spanId, root!.spanContext().spanId)

        assert.match(text, /aegispay_payments_total\{[^}]*status="succeeded"[^}]*\} 1/)
        assert.include(text, "aegispay_payment_duration_seconds_bucket")
        for (const s of spans) {
          const attributes = JSON.stringify(s.attributes)
          assert.notInclude(attributes, "4000056655665556")
          assert.notInclude(attributes, "987")
        }
      })
  )
})

describe("Telemetry over OTLP", () => {
  it.scopedLive(
    "with an OTLP endpoint, spans and metrics are pushed to <endpoint>/v1/traces and /v1/metrics",
    () =>
      Effect.gen(function* () {
        const received: Array<{ readonly path: string; readonly type: string; readonly bytes: number }> = []
        const server = yield* Effect.acquireRelease(
          Effect.async<Server>((resume) => {
            const s = createServer((req, res) => {
              const chunks: Array<Buffer> = []
              req.on("data", (c: Buffer) => chunks.push(c))
              req.on("end", () => {
                received.push({
                  path: req.url ?? "",
                  type: req.headers["content-type"] ?? "",
                  bytes: Buffer.concat(chunks).length
                })
                res.writeHead(200, { "content-type": "application/json" })
                res.end("{}")
              })
            })
            s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
          }),
          (s) => Effect.sync(() => void s.close())
        )
        const address = server.address()
        const endpoint = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/`
        // the scope of the layer closes after the work: shutting the SDK down flushes both exporters
        yield* Effect.gen(function* () {
          yield* Effect.void.pipe(Effect.withSpan("otlp.test.span"))
          yield* Metric.increment(Metric.counter("aegispay_otlp_test_total"))
        }).pipe(Effect.provide(Telemetry.layer({ serviceName: "otlp-test", otlpEndpoint: endpoint })))
        const paths = received.map((r) => r.path)
        assert.include(paths, "/v1/traces")
        assert.include(paths, "/v1/metrics")
        for (const r of received) assert.isAbove(r.bytes, 0, r.path)
      })
  )
})
