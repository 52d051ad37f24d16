/**
 * Observability: three payments (one approved, one declined, one authorized then captured) under
 * one trace, then what an operator sees: the span tree of the trace, the JSON log lines, and the
 * metrics in Prometheus text (what `GET /metrics` serves). In production the same spans and metrics
 * go to an OTLP collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see docs/OPERATIONS.md).
 *
 *   pnpm --filter @aegispay/example-observability start
 */
import { Card, Currency, Customer, Gateway, Ids, Money } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Memory } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient } from "@effect/platform"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { AegisPay, GatewayGuard, Logging, PaymentService, RequestContext, Telemetry } from "aegispay"
import { Console, Context, Effect, Layer, Logger, LogLevel, Option, Redacted, Schema } from "effect"

const exporter = new InMemorySpanExporter()
const logLines: Array<string> = []

const stack = Layer.unwrapScoped(
  Effect.gen(function* () {
    const sim = Context.get(
      yield* Layer.build(Simulator.layer({ name: "observability" })),
      Simulator.Simulator
    )
    const stripe = yield* Stripe.make({
      id: "psp-sim" as Ids.GatewayId,
      baseUrl: sim.url,
      apiKey: Redacted.make("sk_test_demo")
    }).pipe(Effect.provide(FetchHttpClient.layer))
    return AegisPay.compose(
      {
        stores: Memory.layer().pipe(Layer.provide(Ids.layer)),
        gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([stripe])),
        guard: GatewayGuard.layer()
      },
      { reconciler: { background: false } }
    )
  })
)
const telemetry = Telemetry.layer({
  serviceName: "aegispay-example",
  spanProcessors: [new SimpleSpanProcessor(exporter)]
})
// the JSON logger of LOG_FORMAT=json, its lines kept to print them below
const logging = Layer.merge(
  Logger.replace(
    Logger.defaultLogger,
    Logging.jsonLogger.pipe(Logger.map((line) => void logLines.push(line)))
  ),
  Logger.minimumLogLevel(LogLevel.Info)
)

const request = (
  cardNumber: string,
  captureMethod: "automatic" | "manual"
): PaymentService.CreatePaymentInput => ({
  merchantId: "merchant_demo" as Ids.MerchantId,
  amount: Money.make(2_500n, Currency.make("EUR")),
  customer: new Customer.Customer({ id: "cus_7" as Ids.CustomerId }),
  captureMethod,
  card: Schema.decodeUnknownSync(Card.CardDetails)({
    number: cardNumber,
    expMonth: 12,
    expYear: 2031,
    cvc: "123"
  })
})

/** Prints the finished spans of one trace as a tree: name, duration, a few attributes. */
const tree = (spans: ReadonlyArray<ReadableSpan>, traceId: string): Array<string> => {
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId)
  const ids = new Set(inTrace.map((s) => s.spanContext().spanId))
  const children = new Map<string | undefined, Array<ReadableSpan>>()
  for (const s of inTrace) {
    const parent = s.parentSpanContext?.spanId
    const key = parent !== undefined && ids.has(parent) ? parent : undefined
    children.set(key, [...(children.get(key) ?? []), s])
  }
  const ms = (s: ReadableSpan) => (s.duration[0] * 1e3 + s.duration[1] / 1e6).toFixed(1)
  const shown = ["gateway", "paymentId", "attempt", "http.response.status_code", "url.path"]
  const out: Array<string> = []
  const walk = (parent: string | undefined, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      const attrs = shown
        .filter((k) => s.attributes[k] !== undefined)
        .map((k) => `${k}=${String(s.attributes[k])}`)
        .join(" ")
      out.push(`${"  ".repeat(depth)}${s.name} ${ms(s)}ms${attrs ? `  ${attrs}` : ""}`)
      walk(s.spanContext().spanId, depth + 1)
    }
  }
  walk(undefined, 0)
  return out
}

const program = Effect.gen(function* () {
  const payments = yield* PaymentService.PaymentService
  const telemetryService = yield* Telemetry.Telemetry
  const traceId = yield* Effect.gen(function* () {
    const approved = yield* payments.create(request("4242424242424242", "automatic"))
    yield* payments.create(request("4000000000000002", "automatic"))
    const manual = yield* payments.create(request("4242424242424242", "manual"))
    yield* payments.capture({ merchantId: "merchant_demo" as Ids.MerchantId, paymentId: manual.value.id })
    yield* Console.log(`payments: ${approved.value.id} and two more`)
    return (yield* Effect.currentSpan).traceId
  }).pipe(
    Effect.withSpan("example.checkout"),
    Effect.locally(RequestContext.correlationId, Option.some("example-correlation-1"))
  )

  yield* Console.log(`\n── span tree of trace ${traceId} ──`)
  for (const line of tree(exporter.getFinishedSpans(), traceId)) yield* Console.log(line)

  yield* Console.log("\n── JSON log lines ──")
  for (const line of logLines) yield* Console.log(line)

  yield* Console.log("\n── metrics (Prometheus text, histogram buckets left out) ──")
  const text = yield* telemetryService.prometheus
  for (const line of text.split("\n")) {
    if (line.startsWith("aegispay_") && !line.includes("_bucket")) yield* Console.log(line)
  }
  if (!text.includes('aegispay_payments_total{status="succeeded"')) {
    yield* Effect.dieMessage("expected the succeeded payments counter in the metrics")
  }
})

program
  .pipe(Effect.provide(Layer.mergeAll(stack, telemetry)), Effect.provide(logging), Effect.runPromise)
  .then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
