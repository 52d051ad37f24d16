/**
 * A fake PSP speaking Stripe's wire format (DESIGN.md section 6), in-process on a loopback port or
 * standalone (`pnpm sim --port N`): PaymentIntents with Stripe's test cards, capture, cancel,
 * refunds, search by metadata, idempotent replay by `Idempotency-Key`, a ledger of what it really
 * charged (`GET /_sim/ledger`) and faults set at run time (`POST /_sim/faults`), drawn from a seed.
 *
 * @since 0.1.0
 */
import {
  HttpRouter,
  HttpServer,
  type HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { createServer } from "node:http"
import { canonical, type Form, parseForm } from "./internal/form.js"
import { latency, mulberry32 } from "./internal/prng.js"
import * as Psp from "./internal/psp.js"

const Rate = Schema.Number.pipe(Schema.between(0, 1))

/**
 * What `POST /_sim/faults` takes; `{}` clears every fault.
 *
 * @since 0.1.0
 * @category models
 */
export const Faults = Schema.Struct({
  seed: Schema.optional(Schema.Int),
  latencyMs: Schema.optional(Schema.Struct({ p50: Schema.NonNegative, p99: Schema.NonNegative })),
  errorRate: Schema.optional(Rate),
  timeoutRate: Schema.optional(Rate),
  lostResponseRate: Schema.optional(Rate)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Faults = typeof Faults.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** 0 (the default) picks a free port. */
  readonly port?: number
  /** Prefix of the ids this account issues, so several simulators never share an id. */
  readonly name?: string
  /** The account's normal latency (not a fault): log-normal with this median and p99. */
  readonly latencyMs?: { readonly p50: number; readonly p99: number }
  /** Faults from the start (default none). */
  readonly faults?: Faults
  /** How long an injected timeout hangs before answering 504 (default 30 s). */
  readonly hang?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category models
 */
export type LedgerEntry = ReturnType<typeof Psp.ledger>["data"][number]

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly ledger: Effect.Effect<ReadonlyArray<LedgerEntry>>
  readonly setFaults: (faults: Faults) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Simulator extends Context.Tag("@aegispay/simulator/Simulator")<Simulator, Service>() {}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers })

const stripeError = (status: number, type: string, message: string) =>
  json(status, { error: { type, message } })

/**
 * The router of one simulated account, with its state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeApp = (options: Options = {}) =>
  Effect.gen(function* () {
    const state = Psp.newState(options.name ?? "sim")
    const stored = new Map<string, { readonly request: string; readonly answer: Psp.Answer }>()
    let faults: Faults = options.faults ?? {}
    let next = mulberry32(faults.seed ?? 1)
    let requests = 0
    const hang = options.hang ?? "30 seconds"

    const setFaults = (f: Faults) =>
      Effect.sync(() => {
        faults = f
        next = mulberry32(f.seed ?? 1)
      })

    /** Every /v1 request: auth, latency, injected faults, idempotency, then the operation. */
    const v1 = (
      operation: (
        form: Form,
        key: string | null,
        now: number,
        params: Readonly<Record<string, string | undefined>>
      ) => Psp.Answer
    ) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const params = yield* HttpRouter.params
        const requestId = `req_${state.prefix}${(++requests).toString(36).padStart(10, "0")}`
        const headers = { "Request-Id": requestId }
        const auth = request.headers["authorization"] ?? ""
        if (!/^Bearer sk_test_\S+$/.test(auth)) {
          return json(
            401,
            {
              error: {
                type: "invalid_request_error",
                message: "Invalid API Key provided. Use a key starting with sk_test_."
              }
            },
            headers
          )
        }
        const body = request.method === "POST" ? yield* request.text : ""
        const key = request.method === "POST" ? (request.headers["idempotency-key"] ?? null) : null

        const base = options.latencyMs
        const injected = faults.latencyMs
        const delay =
          (base ? latency(next, base.p50, base.p99) : 0) +
          (injected ? latency(next, injected.p50, injected.p99) : 0)
        if (delay > 0) yield* Effect.sleep(Duration.millis(delay))

        if (key !== null) {
          const previous = stored.get(key)
          if (previous !== undefined) {
            if (previous.request !== `${request.url} ${canonical(body)}`) {
              return json(
                400,
                {
                  error: {
                    type: "idempotency_error",
                    message:
                      "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than this one if you meant to execute a different request."
                  }
                },
                headers
              )
            }
            return json(previous.answer.status, previous.answer.body, {
              ...headers,
              "Idempotent-Replayed": "true"
            })
          }
        }
        if (faults.errorRate !== undefined && next() < faults.errorRate) {
          return json(
            500,
            {
              error: {
                type: "api_error",
                message: "An unknown error occurred (injected by the simulator); nothing was processed."
              }
            },
            headers
          )
        }
        if (faults.timeoutRate !== undefined && next() < faults.timeoutRate) {
          yield* Effect.sleep(hang)
          return json(
            504,
            {
              error: {
                type: "api_error",
                message: "Timed out (injected by the simulator); nothing was processed."
              }
            },
            headers
          )
        }
        const lose = faults.lostResponseRate !== undefined && next() < faults.lostResponseRate
        const now = yield* Clock.currentTimeMillis
        const answer = operation(parseForm(body), key, now, params)
        if (key !== null && answer.status < 500)
          stored.set(key, { request: `${request.url} ${canonical(body)}`, answer })
        if (lose) {
          // processed and recorded, but the reply never arrives
          NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
          return HttpServerResponse.empty({ status: 204 })
        }
        return json(answer.status, answer.body, headers)
      })

    const id = (p: Readonly<Record<string, string | undefined>>) => p["id"] ?? ""

    const router = HttpRouter.empty.pipe(
      HttpRouter.get(
        "/_sim/ledger",
        Effect.sync(() => json(200, Psp.ledger(state)))
      ),
      HttpRouter.post(
        "/_sim/faults",
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const parsed = yield* request.json.pipe(
            Effect.flatMap(Schema.decodeUnknown(Faults, { onExcessProperty: "error" })),
            Effect.either
          )
          if (parsed._tag === "Left") {
            return stripeError(
              400,
              "invalid_request_error",
              "faults must be JSON {seed?, latencyMs?: {p50, p99}, errorRate?, timeoutRate?, lostResponseRate?} with rates in [0, 1]"
            )
          }
          yield* setFaults(parsed.right)
          return json(200, { faults: parsed.right })
        })
      ),
      HttpRouter.post(
        "/v1/payment_intents",
        v1((form, key, now) => Psp.createIntent(state, form, key, now))
      ),
      HttpRouter.get(
        "/v1/payment_intents/search",
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          v1(() => Psp.search(state, new URL(request.url, "http://sim").searchParams.get("query") ?? ""))
        )
      ),
      HttpRouter.get(
        "/v1/payment_intents/:id",
        v1((_f, _k, _n, p) => Psp.getIntent(state, id(p)))
      ),
      HttpRouter.post(
        "/v1/payment_intents/:id/capture",
        v1((form, _k, _n, p) => Psp.capture(state, id(p), form))
      ),
      HttpRouter.post(
        "/v1/payment_intents/:id/cancel",
        v1((_f, _k, now, p) => Psp.cancel(state, id(p), now))
      ),
      HttpRouter.post(
        "/v1/refunds",
        v1((form, _k, now) => Psp.refund(state, form, now))
      ),
      HttpRouter.all(
        "*",
        Effect.succeed(stripeError(404, "invalid_request_error", "Unrecognized request URL."))
      )
    )

    return {
      router,
      ledger: Effect.sync(() => Psp.ledger(state).data),
      setFaults
    }
  })

/**
 * Starts one simulated account on 127.0.0.1 for the life of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function* () {
    const app = yield* makeApp(options)
    const server = yield* Layer.build(
      HttpServer.serve(app.router).pipe(
        Layer.provideMerge(
          NodeHttpServer.layer(() => createServer(), { port: options.port ?? 0, host: "127.0.0.1" })
        )
      )
    )
    const address = Context.get(server, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return Simulator.of({ url: `http://127.0.0.1:${port}`, ledger: app.ledger, setFaults: app.setFaults })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Simulator, HttpServerError.ServeError> =>
  Layer.scoped(Simulator, make(options))

/**
 * The three accounts `pnpm start` runs with no gateway configured: different latency profiles, no
 * faults until told.
 *
 * @since 0.1.0
 * @category constants
 */
export const demoAccounts: ReadonlyArray<Options & { readonly name: string }> = [
  { name: "simfast", latencyMs: { p50: 20, p99: 80 } },
  { name: "simcheap", latencyMs: { p50: 60, p99: 250 } },
  { name: "simslow", latencyMs: { p50: 150, p99: 600 } }
]

/** @internal */
export const optionalPort = (argv: ReadonlyArray<string>): Option.Option<number> => {
  const i = argv.indexOf("--port")
  const raw = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith("--port="))?.slice(7)
  const port = raw === undefined ? Number.NaN : Number(raw)
  return Number.isInteger(port) && port >= 0 && port < 65536 ? Option.some(port) : Option.none()
}
