/**
 * Graceful shutdown over real HTTP on loopback: closing the server's scope (what SIGTERM/SIGINT do
 * through `NodeRuntime.runMain`) refuses new connections at once, lets a request in flight finish
 * with its normal answer, and cuts off one that is still running when the deadline passes.
 *
 * The request is held inside the gateway's authorize by a latch, so the test knows it is in flight
 * without sleeping; the only wall-clock wait is the short deadline itself.
 */
import { Gateway, Ids } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Server } from "@aegispay/http"
import { Database } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { AegisPay, GatewayGuard, Telemetry } from "aegispay"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Option,
  Redacted,
  Scope
} from "effect"
import { createConnection } from "node:net"

const KEY = "sk_test_merchant_shutdown_0123"

const payment = {
  amount: 990,
  currency: "EUR",
  customer: { id: "cus_shutdown" },
  paymentMethod: {
    type: "card",
    card: { number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123" }
  }
}

/**
 * The server in its own scope, over a PSP (the simulator) whose authorize first signals `started`
 * and then waits for `release`; `draining` completes when the server logs that it stopped
 * accepting connections (its logger is replaced by that watcher, so nothing is printed).
 */
const startServer = (shutdownTimeout: Duration.Duration) =>
  Effect.gen(function* () {
    const sim = Context.get(yield* Layer.build(Simulator.layer({ name: "shutdown" })), Simulator.Simulator)
    const stripe = yield* Stripe.make({
      id: "sim-shutdown" as Ids.GatewayId,
      baseUrl: sim.url,
      apiKey: Redacted.make("sk_test_x")
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const started = yield* Deferred.make<void>()
    const draining = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const held: Gateway.Gateway = {
      ...stripe,
      authorize: (request) =>
        Deferred.succeed(started, undefined).pipe(
          Effect.zipRight(Deferred.await(release)),
          Effect.zipRight(stripe.authorize(request))
        )
    }
    const app = AegisPay.compose(
      {
        stores: Database.layerMemory.pipe(Layer.provide(Ids.layer)),
        gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([held])),
        guard: GatewayGuard.layer()
      },
      { reconciler: { background: false } }
    )
    const config = {
      port: 0,
      host: "127.0.0.1",
      apiKeys: new Map([[KEY, "merchant_shutdown"]]),
      devKey: Option.none(),
      shutdownTimeout
    }
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Server.layer(config).pipe(
        Layer.provide(Layer.merge(app, Telemetry.layer({ serviceName: "test" }))),
        Layer.provide(
          Logger.replace(
            Logger.defaultLogger,
            Logger.make(({ message }) => {
              if (String(message).includes("stopped accepting")) Deferred.unsafeDone(draining, Exit.void)
            })
          )
        )
      ),
      scope
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return { port, url: `http://127.0.0.1:${port}`, scope, started, release, draining }
  })

type Outcome =
  | { readonly _tag: "Answered"; readonly status: number; readonly body: Record<string, unknown> }
  | { readonly _tag: "Failed"; readonly code: string }

const request = (url: string, path: string, init: RequestInit = {}): Effect.Effect<Outcome> =>
  Effect.promise(async (): Promise<Outcome> => {
    try {
      const res = await fetch(url + path, init)
      const text = await res.text()
      return { _tag: "Answered", status: res.status, body: JSON.parse(text) as Record<string, unknown> }
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      return { _tag: "Failed", code: cause?.code ?? cause?.message ?? String(error) }
    }
  })

const pay = (url: string) =>
  request(url, "/v1/payments", {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(payment)
  })

/** Opens a TCP connection: "connected", or the error code (ECONNREFUSED once the server stopped accepting). */
const connect = (port: number) =>
  Effect.async<string>((resume) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed("connected"))
    })
    socket.once("error", (error: NodeJS.ErrnoException) =>
      resume(Effect.succeed(error.code ?? error.message))
    )
  })

describe("graceful shutdown", () => {
  it.live(
    "a request in flight finishes with its answer while new connections are refused",
    () =>
      Effect.gen(function* () {
        const { draining, port, release, scope, started, url } = yield* startServer(Duration.seconds(30))
        assert.strictEqual(yield* connect(port), "connected")
        const inFlight = yield* Effect.fork(pay(url))
        yield* Deferred.await(started)

        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* Deferred.await(draining)

        assert.strictEqual(yield* connect(port), "ECONNREFUSED")
        assert.isTrue(Option.isNone(yield* Fiber.poll(closing)), "the scope waits for the request")

        yield* Deferred.succeed(release, undefined)
        const answer = yield* Fiber.join(inFlight)
        assert.strictEqual(answer._tag, "Answered")
        if (answer._tag === "Answered") {
          assert.strictEqual(answer.status, 201)
          assert.strictEqual(answer.body["status"], "succeeded")
        }
        yield* Fiber.join(closing)
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a request still running when the deadline passes is cut off, and the shutdown completes",
    () =>
      Effect.gen(function* () {
        const deadline = Duration.millis(300)
        const { port, scope, started, url } = yield* startServer(deadline)
        const inFlight = yield* Effect.fork(pay(url))
        yield* Deferred.await(started)

        const before = yield* Clock.currentTimeMillis
        yield* Scope.close(scope, Exit.void)
        const elapsed = (yield* Clock.currentTimeMillis) - before

        const answer = yield* Fiber.join(inFlight)
        assert.strictEqual(answer._tag, "Failed", "the connection was closed without an answer")
        assert.isAtLeast(elapsed, Duration.toMillis(deadline) - 20)
        assert.isBelow(elapsed, 5_000)
        assert.strictEqual(yield* connect(port), "ECONNREFUSED")
      }).pipe(Effect.scoped),
    30_000
  )
})
