/**
 * The server end to end over loopback, driven by autocannon (in a child process, so that the load
 * generator has its own event loop and can run on the other core):
 *
 * - throughput: `POST /v1/payments` (4242 test card, automatic capture, a unique Idempotency-Key per
 *   request) at the highest rate the server sustains, `HTTP_CONNECTIONS` connections for
 *   `HTTP_DURATION` seconds after `HTTP_WARMUP` seconds of warm-up; payments/s and latency p50/p99.
 * - overhead: the same request at a fixed `HTTP_RATE` requests/s (autocannon's `overallRate`), on the
 *   AegisPay server and on a baseline: a bare `node:http` handler that parses the same JSON body and
 *   makes the same single PSP call (`POST /v1/payment_intents`, confirm) to the same simulator,
 *   i.e. what a client does without AegisPay. AegisPay minus baseline is the orchestration overhead.
 *
 * AegisPay is `AegisPay.layer` (what `pnpm start` runs: outbox relay, reconciler in the background)
 * under `Server.layer`, on in-memory stores, PostgreSQL at `DATABASE_URL` in a throwaway schema
 * (dropped afterwards) and PGlite in a temporary directory (removed afterwards). The PSP is one
 * in-process simulator with zero latency, shared by every contender. Bounded: every autocannon run
 * has a fixed duration and is killed if it outlives it by 30 s; the whole suite by `HTTP_TIMEOUT_S`.
 */
import type { Ids } from "@aegispay/core"
import { Server } from "@aegispay/http"
import { Testing } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { HttpServer } from "@effect/platform"
import { AegisPay, Telemetry } from "aegispay"
import type { Options as CannonOptions, Result as CannonResult } from "autocannon"
import { Context, Effect, Layer, Logger, LogLevel, Option, Redacted, type Scope } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer, type Server as NodeServer } from "node:http"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"

const DURATION = Number(process.env["HTTP_DURATION"] ?? 10)
const WARMUP = Number(process.env["HTTP_WARMUP"] ?? 2)
const CONNECTIONS = Number(process.env["HTTP_CONNECTIONS"] ?? 16)
const RATE = Number(process.env["HTTP_RATE"] ?? 500)
const RATE_CONNECTIONS = Number(process.env["HTTP_RATE_CONNECTIONS"] ?? 4)
const TIMEOUT_S = Number(process.env["HTTP_TIMEOUT_S"] ?? 600)
const BACKENDS = (process.env["HTTP_BACKENDS"] ?? "memory,postgres,pglite").split(",")

const KEY = "sk_test_bench_merchant_0123456789"
const PSP_KEY = "sk_test_bench_psp"
const CARD = "4242424242424242"
const body = JSON.stringify({
  amount: 4990,
  currency: "EUR",
  customer: { id: "cus_bench" },
  paymentMethod: { type: "card", card: { number: CARD, expMonth: 12, expYear: 2030, cvc: "123" } }
})

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc): the server's main thread, the whole server process, the load
// generator (its own report) and the whole machine, over the same window.

const TICK_MS = 10 // USER_HZ is 100 on Linux

const mainThreadMs = (): number => {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS
}

const machine = (): { busy: number; total: number } => {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = cpu.reduce((a, b) => a + b, 0)
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0)
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS }
}

const processMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

interface Cpu {
  /** Each as a share of one core over the run, in %. */
  readonly serverMain: number
  readonly serverProcess: number
  readonly loadGenerator: number
  readonly rest: number
}

// ---------------------------------------------------------------------------------------------
// autocannon in a child process

interface Run {
  readonly result: CannonResult
  readonly cpu: Cpu
}

const child = `
const autocannon = require(process.argv[1])
const opts = JSON.parse(process.argv[2])
autocannon(opts, (err, result) => {
  if (err) { console.error(String(err)); process.exit(1) }
  const u = process.cpuUsage()
  process.stdout.write(JSON.stringify({ result, cpuMs: (u.user + u.system) / 1000 }))
})
`
const autocannonPath = createRequire(import.meta.url).resolve("autocannon")

const cannon = (url: string, options: Partial<CannonOptions>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const opts: CannonOptions = {
      url: `${url}/v1/payments`,
      method: "POST",
      headers: {
        authorization: `Bearer ${KEY}`,
        "content-type": "application/json",
        "idempotency-key": "bench-[<id>]"
      },
      body,
      idReplacement: true,
      connections: CONNECTIONS,
      duration: DURATION,
      ...options
    }
    const t0 = { main: mainThreadMs(), proc: processMs(), machine: machine(), wall: performance.now() }
    const proc = spawn(process.execPath, ["-e", child, autocannonPath, JSON.stringify(opts)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    const killer = setTimeout(() => proc.kill("SIGKILL"), (Number(opts.duration ?? DURATION) + 30) * 1000)
    let out = ""
    proc.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
    proc.on("close", (code) => {
      clearTimeout(killer)
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`))
      const { cpuMs, result } = JSON.parse(out) as { result: CannonResult; cpuMs: number }
      const wall = performance.now() - t0.wall
      const m = machine()
      const share = (ms: number) => (ms / wall) * 100
      const serverProcess = processMs() - t0.proc
      resolve({
        result,
        cpu: {
          serverMain: share(mainThreadMs() - t0.main),
          serverProcess: share(serverProcess),
          loadGenerator: share(cpuMs),
          rest: share(Math.max(0, m.busy - t0.machine.busy - serverProcess - cpuMs))
        }
      })
    })
  })

// ---------------------------------------------------------------------------------------------
// contenders

/** A bare node:http handler: parse the JSON body, one PSP call, answer 201. */
const baseline = (pspUrl: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<NodeServer>((resume) => {
        const server = createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => chunks.push(c))
          req.on("end", () => {
            void (async () => {
              try {
                if (req.headers.authorization !== `Bearer ${KEY}`) {
                  res.writeHead(401).end()
                  return
                }
                const p = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
                  amount: number
                  currency: string
                  paymentMethod: { card: { number: string; expMonth: number; expYear: number; cvc: string } }
                }
                const key = String(req.headers["idempotency-key"] ?? "")
                const card = p.paymentMethod.card
                const form = new URLSearchParams({
                  amount: String(p.amount),
                  currency: p.currency.toLowerCase(),
                  confirm: "true",
                  capture_method: "automatic",
                  "metadata[attempt_key]": key,
                  "payment_method_data[type]": "card",
                  "payment_method_data[card][number]": card.number,
                  "payment_method_data[card][exp_month]": String(card.expMonth),
                  "payment_method_data[card][exp_year]": String(card.expYear),
                  "payment_method_data[card][cvc]": card.cvc
                })
                const reply = await fetch(`${pspUrl}/v1/payment_intents`, {
                  method: "POST",
                  headers: {
                    authorization: `Bearer ${PSP_KEY}`,
                    "stripe-version": "2024-06-20",
                    "idempotency-key": key,
                    "content-type": "application/x-www-form-urlencoded"
                  },
                  body: form.toString()
                })
                const intent = (await reply.json()) as { id: string; status: string }
                res.writeHead(reply.ok ? 201 : 502, { "content-type": "application/json" })
                res.end(
                  JSON.stringify({
                    id: intent.id,
                    status: intent.status,
                    amount: p.amount,
                    currency: p.currency
                  })
                )
              } catch {
                res.writeHead(500).end()
              }
            })()
          })
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    ),
    (server) => {
      const address = server.address()
      return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
    }
  )

type Backend = "memory" | "postgres" | "pglite"

const database = (backend: Backend): Effect.Effect<AegisPay.DatabaseConfig, never, Scope.Scope> => {
  switch (backend) {
    case "memory":
      return Effect.succeed({ _tag: "Memory" })
    case "postgres":
      return Effect.map(
        Testing.throwawaySchemaUrl(process.env["DATABASE_URL"]!, "aegispay_http_bench").pipe(Effect.orDie),
        (url) => ({ _tag: "Postgres", url: Redacted.make(url) })
      )
    case "pglite":
      return Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), "aegispay-http-bench-"))),
          (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
        ),
        (dataDir) => ({ _tag: "Pglite", dataDir })
      )
  }
}

/** `AegisPay.layer` with one Stripe account on the simulator, served by `Server.layer`. */
const aegispay = (backend: Backend, pspUrl: string): Effect.Effect<string, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const app = AegisPay.layer({
      database: yield* database(backend),
      gateways: {
        _tag: "Accounts",
        accounts: [
          {
            type: "stripe",
            id: "sim-bench" as Ids.GatewayId,
            baseUrl: pspUrl,
            apiKey: Redacted.make(PSP_KEY)
          }
        ]
      }
    })
    const context = yield* Layer.build(
      Server.layer({
        port: 0,
        host: "127.0.0.1",
        apiKeys: new Map([[KEY, "merchant_bench"]]),
        devKey: Option.none()
      }).pipe(
        Layer.provide(Layer.merge(app, Telemetry.layer({ serviceName: "bench" }))),
        Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    return `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
  })

// ---------------------------------------------------------------------------------------------
// measuring

interface Row {
  readonly name: string
  readonly run: Run
}

const measure = (url: string, options: Partial<CannonOptions>) =>
  Effect.promise(async () => {
    await cannon(url, { ...options, duration: WARMUP })
    return cannon(url, options)
  })

const perSecond = (r: CannonResult) => r["2xx"] / r.duration
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
const failures = (r: CannonResult) => r.non2xx + r.errors + r.timeouts

const throughputTable = (rows: ReadonlyArray<Row>) => [
  `| server (${CONNECTIONS} connections, ${DURATION} s after ${WARMUP} s warm-up) | payments/s | p50 ms | p99 ms | failed | server main thread | server process | load generator | rest of machine |`,
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    ({ name, run: { cpu, result } }) =>
      `| ${name} | ${fmt(perSecond(result))} | ${fmt(result.latency.p50, 2)} | ${fmt(result.latency.p99, 2)} | ${failures(result)} | ${fmt(cpu.serverMain)} % | ${fmt(cpu.serverProcess)} % | ${fmt(cpu.loadGenerator)} % | ${fmt(cpu.rest)} % |`
  )
]

const overheadTable = (base: Row, rows: ReadonlyArray<Row>) => {
  const b = base.run.result.latency
  const line = ({ name, run: { cpu, result } }: Row, isBase: boolean) => {
    const l = result.latency
    const over = isBase ? "" : `${fmt(l.p50 - b.p50, 2)} | ${fmt(l.p99 - b.p99, 2)}`
    return `| ${name} | ${fmt(perSecond(result))} | ${fmt(l.p50, 2)} | ${fmt(l.p99, 2)} | ${isBase ? "— | —" : over} | ${failures(result)} | ${fmt(cpu.serverMain)} % |`
  }
  return [
    `| server (${RATE} requests/s over ${RATE_CONNECTIONS} connections, ${DURATION} s) | achieved payments/s | p50 ms | p99 ms | overhead p50 ms | overhead p99 ms | failed | server main thread |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    line(base, true),
    ...rows.map((r) => line(r, false))
  ]
}

export const run = async (): Promise<void> => {
  const guard = setTimeout(() => {
    console.error(`http: still running after ${TIMEOUT_S} s, giving up`)
    process.exit(1)
  }, TIMEOUT_S * 1000)
  guard.unref()
  const backends = BACKENDS.filter((b): b is Backend => {
    if (b === "postgres" && !process.env["DATABASE_URL"]) {
      console.log("http: DATABASE_URL not set, PostgreSQL skipped")
      return false
    }
    return b === "memory" || b === "postgres" || b === "pglite"
  })
  const label: Record<Backend, string> = {
    memory: "aegispay, in-memory stores",
    postgres: "aegispay, PostgreSQL",
    pglite: "aegispay, PGlite"
  }
  // autocannon's rate limit lets each connection send its quota at the start of every second; with
  // its coordinated-omission correction on, each response would add samples 1 ms apart down to 1 ms
  const rate = { overallRate: RATE, connections: RATE_CONNECTIONS, ignoreCoordinatedOmission: true }

  const { overhead, throughput } = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const sim = Context.get(yield* Layer.build(Simulator.layer({ name: "bench" })), Simulator.Simulator)
        const throughput: Array<Row> = []
        const overhead: Array<Row> = []
        const base = yield* Effect.scoped(
          Effect.gen(function* () {
            const url = yield* baseline(sim.url)
            throughput.push({ name: "baseline: node:http + one PSP call", run: yield* measure(url, {}) })
            return { name: "baseline: node:http + one PSP call", run: yield* measure(url, rate) }
          })
        )
        for (const backend of backends) {
          yield* Effect.scoped(
            Effect.gen(function* () {
              const url = yield* aegispay(backend, sim.url)
              throughput.push({ name: label[backend], run: yield* measure(url, {}) })
              overhead.push({ name: label[backend], run: yield* measure(url, rate) })
            })
          )
        }
        return { throughput, overhead: { base, rows: overhead } }
      })
    )
  )
  console.log("\n### Throughput\n")
  console.log(throughputTable(throughput).join("\n"))
  console.log(`\n### Latency at ${RATE} requests/s, against the baseline\n`)
  console.log(overheadTable(overhead.base, overhead.rows).join("\n"))
}
