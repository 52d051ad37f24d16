/**
 * The server: `Api` (built by `Handlers`) on Node's HTTP server, with the orchestrator, storage,
 * gateways, logging and telemetry from the environment.
 *
 * Shutdown (SIGINT/SIGTERM interrupt `NodeRuntime.runMain`, which closes the scope): the server
 * stops accepting connections at once (new ones are refused), answers what is in flight (responses
 * then carry `Connection: close`), and waits up to `shutdownTimeout` for it; past the deadline it
 * closes the remaining connections, which interrupts their handlers, and waits for those to run
 * their finalizers. Only then are the Layers below it released: the reconciler, the outbox relay,
 * and last the database.
 *
 * @since 0.1.0
 */
import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Logging, Setup, Telemetry } from "aegispay"
import { Deferred, Duration, Effect, Exit, Layer, Ref } from "effect"
import { createServer, type Server as NodeServer } from "node:http"
import * as Handlers from "./Handlers.js"
import { defaultShutdownTimeout, type ServerConfig } from "./ServerConfig.js"

/** Counts the requests being handled (including writing their response). */
const makeInFlight = Effect.gen(function* () {
  const count = yield* Ref.make(0)
  const idle = yield* Ref.make(yield* Deferred.make<void>())
  const enter = Ref.update(count, (n) => n + 1)
  const leave = Effect.flatMap(
    Ref.updateAndGet(count, (n) => n - 1),
    (n) => (n === 0 ? Effect.flatMap(Ref.get(idle), (d) => Deferred.succeed(d, undefined)) : Effect.void)
  )
  /** Completes when no request is in flight. */
  const awaitIdle = Effect.gen(function* () {
    const next = yield* Deferred.make<void>()
    yield* Ref.set(idle, next)
    if ((yield* Ref.get(count)) === 0) return
    yield* Deferred.await(next)
  })
  return {
    count: Ref.get(count),
    awaitIdle,
    track: <A, E, R>(app: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        enter,
        () => app,
        () => leave
      )
  }
})

/**
 * Stop accepting, let requests in flight finish within `timeout`, then close every connection.
 * Finalizers are uninterruptible: the waits are made interruptible so that their timeouts can end them.
 */
const drain = (
  server: NodeServer,
  inFlight: Effect.Effect.Success<typeof makeInFlight>,
  timeout: Duration.Duration,
  closing: { draining: boolean }
) =>
  Effect.gen(function* () {
    const closed = yield* Deferred.make<void>()
    yield* Effect.sync(() => {
      closing.draining = true
      server.close(() => Deferred.unsafeDone(closed, Exit.void))
      server.closeIdleConnections()
    })
    const waitAtMost = <A>(effect: Effect.Effect<A>) =>
      effect.pipe(
        Effect.interruptible,
        Effect.timeoutTo({ duration: timeout, onSuccess: () => true, onTimeout: () => false })
      )
    yield* Effect.logInfo("shutting down: stopped accepting connections").pipe(
      Effect.annotateLogs({ inFlight: yield* inFlight.count, timeoutMs: Duration.toMillis(timeout) })
    )
    if (!(yield* waitAtMost(inFlight.awaitIdle))) {
      yield* Effect.logWarning("shutdown deadline passed: closing connections with requests in flight").pipe(
        Effect.annotateLogs({ inFlight: yield* inFlight.count })
      )
    }
    yield* Effect.sync(() => server.closeAllConnections())
    // handlers whose connection was closed are interrupted: let their finalizers run
    yield* waitAtMost(inFlight.awaitIdle)
    yield* waitAtMost(Deferred.await(closed))
  })

const serve = (config: ServerConfig) =>
  Effect.gen(function* () {
    const app = yield* HttpApiBuilder.httpApp
    const server = createServer()
    const closing = { draining: false }
    server.on("request", (_request, response) => {
      if (closing.draining) response.setHeader("connection", "close")
    })
    const inFlight = yield* makeInFlight
    const httpServer = yield* NodeHttpServer.make(() => server, { port: config.port, host: config.host })
    yield* httpServer.serve(app, (handled) => inFlight.track(handled))
    // finalizers run last-in first-out: this one runs before the handler is detached and the
    // server is closed by NodeHttpServer (which then finds it closed already)
    yield* Effect.addFinalizer(() =>
      drain(server, inFlight, config.shutdownTimeout ?? defaultShutdownTimeout, closing)
    )
    return httpServer
  })

/**
 * Serves `Api` with the given configuration over the orchestrator Layers it needs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: ServerConfig) =>
  Layer.scoped(HttpServer.HttpServer, serve(config)).pipe(
    Layer.provide(Handlers.layer(config.apiKeys)),
    Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer]),
    Layer.provideMerge(NodeHttpServer.layerContext)
  )

/**
 * Everything from the environment: the orchestrator (`Setup.layerConfig`), telemetry and logging.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerApp = Layer.mergeAll(Setup.layerConfig, Telemetry.layerConfig).pipe(
  Layer.provideMerge(Logging.layerConfig)
)
