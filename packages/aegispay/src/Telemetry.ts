/**
 * Metrics and traces out of the process, on OpenTelemetry through `@effect/opentelemetry`:
 * Effect `Metric`s are readable as Prometheus text (`Telemetry.prometheus`, served at `/metrics`)
 * and pushed over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; spans go to OTLP too, or to
 * any span processor given (an in-memory exporter in tests).
 *
 * @since 0.1.0
 */
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Config, Context, Effect, Layer, Option } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly serviceName: string
  /** Base URL of an OTLP/HTTP collector (`/v1/traces` and `/v1/metrics` are appended). */
  readonly otlpEndpoint?: string | undefined
  /** Extra span processors (tests use a `SimpleSpanProcessor` over an `InMemorySpanExporter`). */
  readonly spanProcessors?: ReadonlyArray<SpanProcessor>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Telemetry extends Context.Tag("aegispay/Telemetry")<
  Telemetry,
  {
    /** Every metric in the Prometheus text exposition format. */
    readonly prometheus: Effect.Effect<string>
  }
>() {}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Telemetry> => {
  const prometheus = new PrometheusExporter({ preventServerStart: true })
  const serializer = new PrometheusSerializer()
  const endpoint = options.otlpEndpoint?.replace(/\/+$/, "")
  const readers: Array<MetricReader> = [prometheus]
  const processors: Array<SpanProcessor> = [...(options.spanProcessors ?? [])]
  if (endpoint !== undefined) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${endpoint}/v1/metrics` }),
        exportIntervalMillis: 10_000
      })
    )
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` })))
  }
  const sdk = NodeSdk.layer(() => ({
    resource: { serviceName: options.serviceName },
    metricReader: readers,
    ...(processors.length > 0 ? { spanProcessor: processors } : {})
  }))
  const service = Layer.succeed(
    Telemetry,
    Telemetry.of({
      prometheus: Effect.promise(() => prometheus.collect()).pipe(
        Effect.map(({ resourceMetrics }) => serializer.serialize(resourceMetrics))
      )
    })
  )
  return Layer.merge(service, Layer.discard(sdk))
}

/**
 * `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_SERVICE_NAME` (default `aegispay`) from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = Layer.unwrapEffect(
  Effect.map(
    Config.all({
      serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("aegispay")),
      otlpEndpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT"))
    }),
    ({ otlpEndpoint, serviceName }) =>
      layer({ serviceName, otlpEndpoint: Option.getOrUndefined(otlpEndpoint) })
  )
)
