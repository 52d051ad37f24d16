/**
 * The main job: AegisPay's HTTP server. With no configuration it runs on embedded PGlite in
 * `.aegispay/data` with three simulated PSP accounts in-process, and prints its URL, a development
 * API key and a curl command that takes a payment. SIGINT/SIGTERM shut it down gracefully: requests
 * in flight get up to AEGISPAY_SHUTDOWN_TIMEOUT_MS (default 10 s) to finish.
 *
 *   pnpm start
 */
import { Server, ServerConfig } from "@aegispay/http"
import { NodeRuntime } from "@effect/platform-node"
import { Setup } from "aegispay"
import { Cause, Console, Context, Effect, Layer, Option } from "effect"

const program = Effect.gen(function* () {
  const config = yield* ServerConfig.config
  const context = yield* Layer.build(Server.layer(config).pipe(Layer.provideMerge(Server.layerApp)))
  const setup = Option.getOrUndefined(Context.getOption(context, Setup.GatewaySetup))
  const url = `http://${config.host}:${config.port}`
  const key = Option.getOrElse(config.devKey, () => "<your API key>")
  yield* Console.log(`AegisPay listening on ${url}`)
  yield* Console.log(
    `  database: ${process.env["DATABASE_URL"] ? "PostgreSQL (DATABASE_URL)" : `embedded PGlite in ${process.env["AEGISPAY_DATA_DIR"] ?? ".aegispay/data"}`}`
  )
  if (setup) {
    yield* Console.log(
      `  gateways: ${setup.gateways.map((g) => `${g.id} (${g.url})`).join(", ")}${setup.simulated ? " — simulated PSPs" : ""}`
    )
  }
  if (Option.isSome(config.devKey)) yield* Console.log(`  development API key (merchant_dev): ${key}`)
  yield* Console.log(`  docs: ${url}/docs (Swagger UI), ${url}/openapi.json (OpenAPI 3.1)`)
  yield* Console.log(`  operations: ${url}/health/ready, ${url}/metrics`)
  yield* Console.log(`\nTake a payment:\n
curl -s ${url}/v1/payments \\
  -H "Authorization: Bearer ${key}" \\
  -H "Content-Type: application/json" \\
  -H "Idempotency-Key: order-$RANDOM" \\
  -d '{"amount": 4990, "currency": "EUR", "customer": {"id": "cus_42"}, "paymentMethod": {"type": "card", "card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2030, "cvc": "123"}}}'
`)
  return yield* Effect.never
})

/** One line for an operator: the configuration error, or why the port could not be opened. */
const reason = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const inner = (error as { readonly cause?: unknown }).cause
  return inner instanceof Error ? inner.message : error instanceof Error ? error.message : String(error)
}

const main = Effect.scoped(program).pipe(
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(`AegisPay did not start: ${reason(cause)}`)
  )
)

// the app sets up its own logger (LOG_FORMAT), so runMain adds neither its pretty logger nor a second
// report of a start-up failure (printed above as one line; the exit code is 1)
NodeRuntime.runMain(main, { disablePrettyLogger: true, disableErrorReporting: true })
