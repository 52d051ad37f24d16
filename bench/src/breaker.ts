/**
 * Calls per second through a CLOSED circuit breaker wrapping a trivial async call, side by side in
 * one process: AegisPay's CircuitBreaker, opossum and cockatiel, each against its own bare loop to
 * give the latency the breaker adds per call. Rounds alternate between contenders; the median round
 * is reported. Bounded: ROUNDS × CALLS calls per contender.
 */
import { CircuitBreaker } from "@aegispay/resilience"
import { ConsecutiveBreaker, circuitBreaker, handleAll } from "cockatiel"
import { Effect } from "effect"
import Opossum from "opossum"
import { cpus } from "node:os"
import { performance } from "node:perf_hooks"

const CALLS = Number(process.env["BENCH_CALLS"] ?? 100_000)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5)

const trivial = () => Promise.resolve(1)

const timeLoop = async (calls: number, body: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  for (let i = 0; i < calls; i++) await body()
  return performance.now() - start
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export const run = async (): Promise<void> => {
  const opossum = new Opossum(trivial, { timeout: false, errorThresholdPercentage: 50, resetTimeout: 30_000 })
  const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) })

  const effectLoop = (calls: number, protect: boolean) =>
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.CircuitBreaker
      const call = Effect.promise(trivial)
      const guarded = breaker.protect("psp")(call)
      const start = performance.now()
      for (let i = 0; i < calls; i++) yield* protect ? guarded : call
      return performance.now() - start
    }).pipe(Effect.provide(CircuitBreaker.layer({ consecutiveFailures: 5 })))

  const contenders: Record<string, { with: () => Promise<number>; without: () => Promise<number> }> = {
    "aegispay CircuitBreaker": {
      with: () => Effect.runPromise(effectLoop(CALLS, true)),
      without: () => Effect.runPromise(effectLoop(CALLS, false))
    },
    [`opossum ${"10.0.0"}`]: {
      with: () => timeLoop(CALLS, () => opossum.fire()),
      without: () => timeLoop(CALLS, trivial)
    },
    [`cockatiel ${"4.0.0"}`]: {
      with: () => timeLoop(CALLS, () => cockatiel.execute(trivial)),
      without: () => timeLoop(CALLS, trivial)
    }
  }

  // warm-up
  for (const c of Object.values(contenders)) {
    await c.with()
    await c.without()
  }
  const results: Record<string, { with: Array<number>; without: Array<number> }> = {}
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, c] of Object.entries(contenders)) {
      const entry = (results[name] ??= { with: [], without: [] })
      entry.without.push(await c.without())
      entry.with.push(await c.with())
    }
  }
  opossum.shutdown()

  console.log(`\n### Circuit breaker: closed breaker around a trivial async call\n`)
  console.log(
    `${CALLS.toLocaleString("en")} sequential calls × ${ROUNDS} rounds per contender, median round; Node ${process.version}, ${cpus().length} cores.\n`
  )
  console.log(`| contender | calls/s through the breaker | bare calls/s | added latency per call |`)
  console.log(`|---|---:|---:|---:|`)
  for (const [name, r] of Object.entries(results)) {
    const withMs = median(r.with)
    const withoutMs = median(r.without)
    const rate = (ms: number) => Math.round((CALLS / ms) * 1000).toLocaleString("en")
    const added = (((withMs - withoutMs) / CALLS) * 1000).toFixed(2)
    console.log(`| ${name} | ${rate(withMs)} | ${rate(withoutMs)} | ${added} µs |`)
  }
}
