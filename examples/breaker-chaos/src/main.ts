/**
 * A flaky dependency behind a circuit breaker: chaos injects 60% errors, the breaker opens and
 * fails fast, the faults stop, the open timeout passes, a trial call closes it again. Every state
 * change is printed from the breaker's change stream; the health monitor scores the dependency.
 *
 *   pnpm --filter @aegispay/example-breaker-chaos start
 */
import { Chaos, CircuitBreaker, HealthMonitor } from "@aegispay/resilience"
import { Console, Effect, Layer, Stream } from "effect"

const program = Effect.gen(function* () {
  const breaker = yield* CircuitBreaker.CircuitBreaker
  const chaos = yield* Chaos.Chaos
  const health = yield* HealthMonitor.HealthMonitor
  const changes = yield* breaker.changes
  yield* changes.pipe(
    Stream.runForEach((c) => Console.log(`  breaker ${c.key}: ${c.from} → ${c.to} (${c.reason})`)),
    Effect.forkScoped
  )

  const psp = Effect.sleep("5 millis").pipe(Effect.as("charged"))
  const call = (i: number) =>
    breaker
      .protect("psp-1")(health.track("psp-1")(chaos.wrap(psp)))
      .pipe(
        Effect.match({
          onFailure: (e) =>
            `call ${String(i).padStart(2)}: ${e._tag === "CircuitOpen" ? "refused, circuit open" : `failed (${e._tag})`}`,
          onSuccess: (r) => `call ${String(i).padStart(2)}: ${r}`
        }),
        Effect.flatMap(Console.log),
        Effect.zipLeft(Effect.sleep("1 millis")) // lets the change printer keep up
      )

  yield* Console.log("Phase 1: 60% injected errors (seed 42)")
  yield* chaos.set({ error: { probability: 0.6 } })
  for (let i = 1; i <= 12; i++) yield* call(i)
  const h = yield* health.snapshot("psp-1", yield* breaker.state("psp-1"))
  yield* Console.log(
    `  health: success ${(h.successRate * 100).toFixed(0)}%, score ${h.score.toFixed(2)}, errors ${JSON.stringify(h.errorsByType)}`
  )

  yield* Console.log("Phase 2: faults off; waiting out the 300 ms open timeout")
  yield* chaos.disable
  yield* Effect.sleep("300 millis")
  for (let i = 13; i <= 16; i++) yield* call(i)
  yield* Console.log(`Final state: ${yield* breaker.state("psp-1")}`)
  yield* Effect.sleep("10 millis")
})

const layers = Layer.mergeAll(
  CircuitBreaker.layer({
    consecutiveFailures: 3,
    openTimeout: "300 millis",
    successThreshold: 2,
    halfOpenMaxCalls: 1
  }),
  Chaos.layer({ seed: 42 }),
  HealthMonitor.layer({ calls: 50 })
)

program.pipe(Effect.scoped, Effect.provide(layers), Effect.runPromise).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
