/**
 * The server: the routes on Node's HTTP server, with the orchestrator, storage, gateways, logging
 * and telemetry from the environment. Interruption (SIGINT/SIGTERM through `NodeRuntime.runMain`)
 * closes it in order: stop accepting, let in-flight requests finish, stop the reconciler, close the
 * database.
 *
 * @since 0.1.0
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Logging, Setup, Telemetry } from "aegispay"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import * as Routes from "./Routes.js"
import type { ServerConfig } from "./ServerConfig.js"

/**
 * Serves the API with the given configuration over the orchestrator Layers it needs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: ServerConfig) =>
  Layer.unwrapEffect(Effect.map(Routes.make(config), (app) => HttpServer.serve(app))).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: config.port, host: config.host }))
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
