/**
 * `pnpm sim --port N`: one simulated PSP account on 127.0.0.1:N until SIGINT or SIGTERM.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Option } from "effect"
import { Simulator } from "./index.js"

const args = process.argv.slice(2)

const main = Effect.gen(function* () {
  const port = Simulator.optionalPort(args)
  if (Option.isNone(port) && args.some((a) => a.startsWith("--port"))) {
    yield* Console.error("usage: pnpm sim --port N   (N from 0 to 65535; 0 picks a free port)")
    return yield* Effect.fail("bad arguments")
  }
  return yield* Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    yield* Console.log(`PSP simulator (Stripe wire format) listening on ${sim.url}`)
    yield* Console.log(`  try: curl -s ${sim.url}/_sim/ledger`)
    return yield* Effect.never
  }).pipe(Effect.provide(Layer.fresh(Simulator.layer({ port: Option.getOrElse(port, () => 4010) }))))
})

main.pipe(NodeRuntime.runMain)
