/**
 * The whole server stack for end-to-end suites that need to see inside it: the HTTP server on
 * PGlite (a throwaway data directory) or PostgreSQL (a throwaway schema), one simulated PSP, an
 * outbox relay publishing to a recorder, every log line captured raw at every level, and every span
 * in an in-memory exporter.
 */
import { Gateway, Ids, type Outbox } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Server } from "@aegispay/http"
import { Database, Relay, Testing } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { AegisPay, GatewayGuard, Logging, Telemetry } from "aegispay"
import {
  Cause,
  Context,
  Effect,
  HashMap,
  Inspectable,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted
} from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export type Backend = "PGlite" | "PostgreSQL"

/** PGlite always; PostgreSQL too when `DATABASE_URL` is set (as in CI). */
export const backends: ReadonlyArray<Backend> = process.env["DATABASE_URL"]
  ? ["PGlite", "PostgreSQL"]
  : ["PGlite"]

const storesFor = (backend: Backend) =>
  backend === "PostgreSQL"
    ? Testing.layerPgThrowawaySchema(process.env["DATABASE_URL"]!, "aegispay_e2e").pipe(
        Layer.provide(Ids.layer)
      )
    : Layer.unwrapScoped(
        Effect.map(
          Effect.acquireRelease(
            Effect.sync(() => mkdtempSync(join(tmpdir(), "aegispay-e2e-"))),
            (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
          ),
          (dataDir) => Database.layerPglite({ dataDir }).pipe(Layer.provide(Ids.layer))
        )
      )

export interface Stack {
  readonly url: string
  readonly key: string
  readonly context: Context.Context<Database.Stores | import("@effect/sql").SqlClient.SqlClient>
  /** Every log line, raw (not masked): message, annotations and cause. */
  readonly lines: ReadonlyArray<string>
  /** Every log line as the JSON logger writes it (with trace and span ids). */
  readonly json: ReadonlyArray<string>
  /** Every log entry's annotations, for assertions on fields. */
  readonly annotations: ReadonlyArray<Record<string, unknown>>
  readonly published: ReadonlyArray<Outbox.OutboxMessage>
  readonly exporter: InMemorySpanExporter
}

/**
 * Starts the stack in the current scope. `pspUrl` may wrap the simulator's URL (to put a
 * recording proxy in front of it).
 */
export const start = (
  backend: Backend,
  options: {
    readonly pspUrl?: (simulatorUrl: string) => Effect.Effect<string, never, import("effect").Scope.Scope>
  } = {}
) =>
  Effect.gen(function* () {
    const key = "sk_test_e2e_merchant_0123456789"
    const lines: Array<string> = []
    const json: Array<string> = []
    const annotations: Array<Record<string, unknown>> = []
    const published: Array<Outbox.OutboxMessage> = []
    const exporter = new InMemorySpanExporter()
    const capture = Logger.make((entry) => {
      const { annotations: a, cause, message } = entry
      json.push(Logging.jsonLogger.log(entry))
      const fields = Object.fromEntries(HashMap.toEntries(a))
      annotations.push(fields)
      lines.push(
        Inspectable.stringifyCircular({
          message,
          annotations: fields,
          cause: Cause.isEmpty(cause) ? undefined : Cause.pretty(cause, { renderErrorCause: true })
        })
      )
    })
    const logging = Layer.merge(
      Logger.replace(Logger.defaultLogger, capture),
      Logger.minimumLogLevel(LogLevel.All)
    )

    const sim = Context.get(yield* Layer.build(Simulator.layer({ name: "e2e" })), Simulator.Simulator)
    const baseUrl = options.pspUrl ? yield* options.pspUrl(sim.url) : sim.url
    const stripe = yield* Stripe.make({
      id: "sim-e2e" as Ids.GatewayId,
      baseUrl,
      apiKey: Redacted.make("sk_test_e2e_psp")
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const relay = Layer.scopedDiscard(
      Effect.gen(function* () {
        const worker = yield* Relay.make(
          { name: "recorder", publish: (message) => Effect.sync(() => void published.push(message)) },
          { pollInterval: "20 millis" }
        )
        yield* Effect.forkScoped(worker.run)
      })
    )
    const stores = Layer.provideMerge(relay, storesFor(backend))
    const app = AegisPay.compose(
      {
        stores,
        gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([stripe])),
        guard: GatewayGuard.layer()
      },
      { reconciler: { background: false } }
    )
    const context = yield* Layer.build(
      Server.layer({
        port: 0,
        host: "127.0.0.1",
        apiKeys: new Map([[key, "merchant_e2e"]]),
        devKey: Option.none()
      }).pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            app,
            stores,
            Telemetry.layer({ serviceName: "e2e", spanProcessors: [new SimpleSpanProcessor(exporter)] })
          )
        ),
        Layer.provide(logging)
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const stack: Stack = {
      url: `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`,
      key,
      context,
      lines,
      json,
      annotations,
      published,
      exporter
    }
    return stack
  })

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: Record<string, unknown>
}

/** One JSON request to the stack with its key; a GET without a body, a POST with one. */
export const call = (
  stack: Stack,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const res = await fetch(stack.url + path, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${stack.key}`, "content-type": "application/json", ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    })
    const text = await res.text()
    let parsed: Record<string, unknown> = {}
    try {
      parsed = JSON.parse(text) as Record<string, unknown>
    } catch {
      // not JSON: leave the body empty, the text is there
    }
    return { status: res.status, headers: res.headers, text, body: parsed }
  })
