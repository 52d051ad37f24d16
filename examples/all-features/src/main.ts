/**
 * Every feature in one guided tour, over the real HTTP server (`@aegispay/http`) on embedded PGlite
 * (a throwaway data directory) with three simulated PSP accounts in-process, routed by lowest cost:
 * idempotent create and replay, soft and hard declines, partial capture, two partial refunds, cancel, a
 * payment's events, cursor pagination, analytics, gateway health, failover, a fraud hook, the
 * circuit breaker, reconciliation of a lost response, the outbox, `/metrics` and `/openapi.json`.
 * One line per step; exits 1 at the first step whose expectation fails.
 *
 *   pnpm --filter @aegispay/example-all-features start
 */
import { Fee, Gateway, Ids, Outbox } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Server } from "@aegispay/http"
import { Database, EventBus, Relay } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { AegisPay, GatewayGuard, type Hooks, Reconciler, Telemetry } from "aegispay"
import {
  Cause,
  Console,
  Context,
  Data,
  Duration,
  Effect,
  Exit,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Schedule,
  Stream
} from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { connect, createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

class ExpectationFailed extends Data.TaggedError("ExpectationFailed")<{ readonly message: string }> {}

const KEY = "sk_test_all_features_0123456789"
const CARD = "4242424242424242"
const DECLINED_CARD = "4000000000000002"
const HARD_DECLINED_CARD = "4000000000009995"

const accounts = [
  { id: "psp-cheap", name: "simcheap", fees: { bps: 140, fixed: 20n } },
  { id: "psp-mid", name: "simmid", fees: { bps: 190, fixed: 25n } },
  { id: "psp-dear", name: "simdear", fees: { bps: 290, fixed: 30n } }
] as const

/** A fraud check that denies one customer (no PSP is called for it). */
const hooks: Hooks.Config = {
  fraud: [
    {
      name: "velocity",
      failMode: "closed",
      check: (p) =>
        Effect.succeed(
          p.customer.id === "cus_fraudster"
            ? { allow: false, score: 0.97, reason: "12 cards tried in 5 minutes" }
            : { allow: true, score: 0.05, reason: "normal velocity" }
        )
    }
  ]
}

/**
 * A TCP proxy in front of one simulated PSP that can take it offline: it stops listening (new
 * connections are refused: a definite failure, nothing was sent, so the payment fails over) and
 * drops the open ones.
 */
const switchable = (target: string) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly url: string
      readonly offline: Effect.Effect<void>
      readonly close: () => void
    }>((resume) => {
      const targetPort = Number(new URL(target).port)
      const sockets = new Set<Socket>()
      const server = createServer((client) => {
        const upstream = connect(targetPort, "127.0.0.1")
        sockets.add(client).add(upstream)
        const drop = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        for (const s of [client, upstream]) s.on("error", drop).on("close", drop)
        client.pipe(upstream).pipe(client)
      })
      const dropAll = () => {
        for (const s of sockets) s.destroy()
        sockets.clear()
      }
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${port}`,
            offline: Effect.async<void>((done) => {
              server.close(() => done(Effect.void))
              dropAll()
            }),
            close: () => {
              dropAll()
              if (server.listening) server.close()
            }
          })
        )
      })
    }),
    (proxy) => Effect.sync(proxy.close)
  )

// ---------------------------------------------------------------------------------------------
// the stack
// ---------------------------------------------------------------------------------------------

const start = Effect.gen(function* () {
  const dataDir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "aegispay-tour-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  // each PSP behind a switch, so that the tour can take one offline
  const psps = new Map<
    string,
    { readonly sim: Simulator.Service; readonly link: Effect.Effect.Success<ReturnType<typeof switchable>> }
  >()
  const gateways: Array<Gateway.Gateway> = []
  for (const account of accounts) {
    const sim = Context.get(yield* Layer.build(Simulator.layer({ name: account.name })), Simulator.Simulator)
    const link = yield* switchable(sim.url)
    psps.set(account.id, { sim, link })
    gateways.push(
      yield* Stripe.make({
        id: account.id as Ids.GatewayId,
        baseUrl: link.url,
        apiKey: Redacted.make("sk_test_tour"),
        fees: new Fee.FeeSchedule({ ...account.fees, rounding: "half-up" })
      }).pipe(Effect.provide(FetchHttpClient.layer))
    )
  }

  // the bus is built first so that its subscriber hears every event the relay publishes
  const bus = yield* Layer.build(EventBus.layer)
  const published = new Set<string>()
  yield* Context.get(bus, EventBus.EventBus)
    .subscribe()
    .pipe(
      Effect.flatMap(Stream.runForEach((m) => Effect.sync(() => published.add(m.eventId)))),
      Effect.forkScoped
    )
  const relay = Layer.scopedDiscard(
    Effect.gen(function* () {
      const worker = yield* Relay.make(Context.get(bus, EventBus.EventBus).publisher, {
        pollInterval: "100 millis"
      })
      yield* Effect.forkScoped(worker.run)
    })
  )
  const stores = Layer.provideMerge(relay, Database.layerPglite({ dataDir }).pipe(Layer.provide(Ids.layer)))
  const app = AegisPay.compose(
    {
      stores,
      gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom(gateways)),
      guard: GatewayGuard.layer({ breaker: { consecutiveFailures: 3, openTimeout: "30 seconds" } })
    },
    {
      strategy: { _tag: "LowestCost" },
      hooks,
      reconciler: { background: false, pendingGrace: "0 millis", notFoundGrace: "0 millis" }
    }
  )
  const context = yield* Layer.build(
    Server.layer({
      port: 0,
      host: "127.0.0.1",
      apiKeys: new Map([[KEY, "merchant_tour"]]),
      devKey: Option.none()
    }).pipe(Layer.provideMerge(Layer.mergeAll(app, Telemetry.layer({ serviceName: "all-features" }))))
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  const url = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
  return { url, context, psps, published, dataDir }
})

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: Record<string, unknown>
}

/** One request, at most 10 s; JSON in and out. */
const request = (
  url: string,
  init: { readonly body?: unknown; readonly key?: boolean; readonly headers?: Record<string, string> } = {}
) =>
  Effect.tryPromise({
    try: async (): Promise<Reply> => {
      const res = await fetch(url, {
        method: init.body === undefined ? "GET" : "POST",
        headers: {
          ...(init.key === false ? {} : { authorization: `Bearer ${KEY}` }),
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          ...init.headers
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(10_000)
      })
      const text = await res.text()
      let body: Record<string, unknown> = {}
      try {
        body = JSON.parse(text) as Record<string, unknown>
      } catch {
        // not JSON (metrics): the text is there
      }
      return { status: res.status, headers: res.headers, text, body }
    },
    catch: (cause) => new ExpectationFailed({ message: `${url}: request failed (${String(cause)})` })
  })

const expect = (ok: boolean, what: string) =>
  ok ? Effect.void : Effect.fail(new ExpectationFailed({ message: what }))

let stepNumber = 0
/** Prints `n. title: detail` once the step's expectations hold. */
const step = <E, R>(title: string, body: Effect.Effect<string, E, R>) =>
  Effect.flatMap(body, (detail) => Console.log(`${String(++stepNumber).padStart(2)}. ${title}: ${detail}`))

const newPayment = (over: Record<string, unknown> = {}, card = CARD) => ({
  amount: 5000,
  currency: "EUR",
  customer: { id: "cus_tour" },
  paymentMethod: { type: "card", card: { number: card, expMonth: 12, expYear: 2031, cvc: "123" } },
  ...over
})

const failureCode = (r: Reply) => (r.body["failure"] as { code?: string } | undefined)?.code

// ---------------------------------------------------------------------------------------------
// the tour
// ---------------------------------------------------------------------------------------------

const tour = Effect.gen(function* () {
  const startedAt = new Date(Date.now() - 60_000)
  const { context, dataDir, psps, published, url } = yield* start
  const psp = (id: (typeof accounts)[number]["id"]) => psps.get(id)!
  yield* Console.log(
    `AegisPay on ${url} (PGlite in ${dataDir}); PSPs ${accounts.map((a) => a.id).join(", ")}\n`
  )
  const api = (path: string, init: Parameters<typeof request>[1] = {}) => request(url + path, init)
  const faults = (id: (typeof accounts)[number]["id"], body: Simulator.Faults) =>
    request(`${psp(id).sim.url}/_sim/faults`, { body, key: false }).pipe(
      Effect.flatMap((r) => expect(r.status === 200, `${id}: faults accepted`))
    )
  const pay = (over: Record<string, unknown> = {}, card = CARD, headers: Record<string, string> = {}) =>
    api("/v1/payments", { body: newPayment(over, card), headers })

  yield* step(
    "create with an Idempotency-Key, then the same request again",
    Effect.gen(function* () {
      const first = yield* pay({}, CARD, { "idempotency-key": "order-1001" })
      const again = yield* pay({}, CARD, { "idempotency-key": "order-1001" })
      yield* expect(first.status === 201 && first.body["status"] === "succeeded", "the payment succeeded")
      yield* expect(
        again.status === 201 &&
          again.headers.get("idempotent-replayed") === "true" &&
          again.text === first.text,
        "the retry replays the first answer"
      )
      return `${first.body["status"]} on ${first.body["gateway"]}; the retry answered the same body with Idempotent-Replayed: true`
    })
  )

  yield* step(
    "declines",
    Effect.gen(function* () {
      const soft = yield* pay({}, DECLINED_CARD)
      const hard = yield* pay({}, HARD_DECLINED_CARD)
      for (const r of [soft, hard]) {
        yield* expect(
          r.status === 201 && r.body["status"] === "failed" && failureCode(r) !== undefined,
          "a decline is a 201 with status failed"
        )
      }
      yield* expect(hard.body["attempts"] === 1, "a hard decline is tried on one PSP only")
      return `${DECLINED_CARD} soft (${failureCode(soft)}): tried on ${soft.body["attempts"]} PSPs, then failed; ${HARD_DECLINED_CARD} hard (${failureCode(hard)}): ${hard.body["attempts"]} attempt, no failover`
    })
  )

  const captured = yield* Effect.gen(function* () {
    const manual = yield* pay({ captureMethod: "manual" })
    const id = String(manual.body["id"])
    yield* step(
      "manual capture, in part",
      Effect.gen(function* () {
        const capture = yield* api(`/v1/payments/${id}/capture`, { body: { amount: 3000 } })
        yield* expect(manual.body["status"] === "requires_capture", "the payment waits for capture")
        yield* expect(
          capture.status === 200 && capture.body["amountCaptured"] === 3000,
          "3000 of 5000 captured"
        )
        return `authorized 5000 (requires_capture), captured 3000 → ${capture.body["status"]}`
      })
    )
    return id
  })

  yield* step(
    "two partial refunds",
    Effect.gen(function* () {
      const one = yield* api(`/v1/payments/${captured}/refunds`, {
        body: { amount: 1000, reason: "one item returned" },
        headers: { "idempotency-key": "refund-1" }
      })
      const two = yield* api(`/v1/payments/${captured}/refunds`, {
        body: { amount: 500 },
        headers: { "idempotency-key": "refund-2" }
      })
      const after = yield* api(`/v1/payments/${captured}`)
      yield* expect(one.status === 201 && two.status === 201, "both refunds accepted")
      yield* expect(
        after.body["amountRefunded"] === 1500 && after.body["status"] === "partially_refunded",
        "1500 refunded, partially_refunded"
      )
      return `1000 (${one.body["status"]}) and 500 (${two.body["status"]}): refunded 1500 of 3000, ${after.body["status"]}`
    })
  )

  yield* step(
    "cancel an authorization",
    Effect.gen(function* () {
      const manual = yield* pay({ captureMethod: "manual" })
      const cancelled = yield* api(`/v1/payments/${String(manual.body["id"])}/cancel`, { body: {} })
      yield* expect(
        cancelled.status === 200 && cancelled.body["status"] === "cancelled",
        "the payment is cancelled"
      )
      return `requires_capture → cancelled (voided at ${cancelled.body["gateway"]})`
    })
  )

  yield* step(
    "the events of a payment",
    Effect.gen(function* () {
      const events = yield* api(`/v1/payments/${captured}/events`)
      const data = events.body["data"] as Array<{ type: string; version: number }>
      yield* expect(
        events.status === 200 && data.every((e, i) => e.version === i + 1),
        "versions 1, 2, 3 … without a gap"
      )
      yield* expect(data.filter((e) => e.type === "RefundSucceeded").length === 2, "two refunds recorded")
      return data.map((e) => `v${e.version} ${e.type}`).join(", ")
    })
  )

  yield* step(
    "list with a cursor",
    Effect.gen(function* () {
      const pages: Array<number> = []
      const seen = new Set<string>()
      let cursor: string | null = null
      do {
        const page: Reply = yield* api(
          `/v1/payments?customerId=cus_tour&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`
        )
        yield* expect(page.status === 200, "a page")
        const data = page.body["data"] as Array<{ id: string }>
        for (const p of data) seen.add(p.id)
        pages.push(data.length)
        cursor = page.body["nextCursor"] as string | null
      } while (cursor !== null && pages.length < 10)
      const total = pages.reduce((a, b) => a + b, 0)
      yield* expect(total === 5 && seen.size === 5, "5 payments, each once")
      return `pages of ${pages.join(" + ")} = ${total} payments, newest first, none twice`
    })
  )

  yield* step(
    "analytics",
    Effect.gen(function* () {
      const to = new Date(Date.now() + 60_000)
      const stats = yield* api(`/v1/analytics?from=${startedAt.toISOString()}&to=${to.toISOString()}`)
      const byStatus = stats.body["byStatus"] as Array<{ status: string; count: number }>
      yield* expect(stats.status === 200 && stats.body["count"] === 5, "5 payments counted")
      return `${stats.body["count"]} payments: ${byStatus.map((s) => `${s.count} ${s.status}`).join(", ")}`
    })
  )

  yield* step(
    "gateway health",
    Effect.gen(function* () {
      const health = yield* api("/v1/gateways/health")
      const data = health.body["data"] as Array<{
        gateway: string
        circuitState: string
        volume: number
        score: number
      }>
      yield* expect(health.status === 200 && data.length === 3, "three gateways")
      return data.map((g) => `${g.gateway} ${g.circuitState} volume ${g.volume}`).join("; ")
    })
  )

  yield* step(
    "fraud hook denies",
    Effect.gen(function* () {
      const fraud = yield* pay({ customer: { id: "cus_fraudster" } })
      yield* expect(
        fraud.status === 201 && fraud.body["status"] === "failed" && failureCode(fraud) === "fraud_suspected",
        "the fraud hook denied the payment"
      )
      yield* expect(fraud.body["attempts"] === 0, "no PSP was called")
      return `status failed (fraud_suspected), ${fraud.body["attempts"]} PSP attempts`
    })
  )

  yield* step(
    "reconciliation of a lost response",
    Effect.gen(function* () {
      yield* faults("psp-cheap", { lostResponseRate: 1 })
      const lost = yield* pay()
      yield* faults("psp-cheap", {})
      const id = String(lost.body["id"])
      yield* expect(lost.body["status"] === "processing", "a lost response leaves the payment processing")
      const report = yield* Context.get(context, Reconciler.Reconciler).runOnce
      const after = yield* api(`/v1/payments/${id}`)
      const ledger = yield* psp("psp-cheap").sim.ledger
      const charges = ledger.filter(
        (e) => String(e.idempotency_key).startsWith(`${id}:`) && e.amount_captured > 0
      ).length
      yield* expect(after.body["status"] === "succeeded", "the reconciler found the charge")
      yield* expect(charges === 1, "charged once at the PSP")
      return `${lost.status} processing (no failover on an ambiguous outcome) → reconciler ${JSON.stringify(
        Object.fromEntries(Object.entries(report.resolved).filter(([, n]) => n > 0))
      )} → ${after.body["status"]}, charged once`
    })
  )

  yield* step(
    "failover: the cheapest PSP goes offline",
    Effect.gen(function* () {
      yield* psp("psp-cheap").link.offline
      const moved = yield* pay()
      const events = yield* api(`/v1/payments/${String(moved.body["id"])}/events`)
      const data = events.body["data"] as Array<{ type: string; data: Record<string, unknown> }>
      const attempts = data
        .filter((e) => e.type === "AttemptStarted")
        .map((started) => {
          const failed = data.find(
            (e) => e.type === "AttemptFailed" && e.data["attempt"] === started.data["attempt"]
          )
          const code = (failed?.data["failure"] as { code?: string } | undefined)?.code
          return `${started.data["gateway"]} (${code ?? "succeeded"})`
        })
      yield* expect(moved.body["status"] === "succeeded", "the payment succeeded")
      yield* expect(moved.body["gateway"] === "psp-mid", "it moved to psp-mid")
      return `${attempts.join(" → ")}; ${moved.body["status"]} on ${moved.body["gateway"]}`
    })
  )

  yield* step(
    "circuit breaker opens on the failing PSP",
    Effect.gen(function* () {
      const health = yield* api("/v1/gateways/health")
      const opened = (health.body["data"] as Array<{ gateway: string; circuitState: string }>).find(
        (g) => g.gateway === "psp-cheap"
      )?.circuitState
      const skipped = yield* pay()
      const events = yield* api(`/v1/payments/${String(skipped.body["id"])}/events`)
      const routing = (events.body["data"] as Array<{ type: string; data: Record<string, unknown> }>).find(
        (e) => e.type === "AttemptStarted"
      )?.data["routing"] as { reason?: string } | undefined
      yield* expect(opened === "open", `psp-cheap's circuit is open (${opened})`)
      yield* expect(
        skipped.body["gateway"] === "psp-mid" && skipped.body["attempts"] === 1,
        "the next payment is not sent to psp-cheap"
      )
      return `psp-cheap ${opened} after 3 refused calls; the next payment went straight to ${skipped.body["gateway"]} (routing: "${routing?.reason}")`
    })
  )

  yield* step(
    "outbox",
    Effect.gen(function* () {
      const outbox = Context.get(context, Outbox.Outbox)
      yield* outbox.backlog.pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (b) => b.pending === 0 }),
        Effect.timeoutFail({
          duration: "10 seconds",
          onTimeout: () => new ExpectationFailed({ message: "the outbox did not drain" })
        })
      )
      const backlog = yield* outbox.backlog
      yield* expect(backlog.deadLettered === 0, "nothing dead-lettered")
      yield* expect(published.size > 0, "events reached the bus")
      return `${published.size} events relayed to the in-process bus; backlog ${backlog.pending}, dead-lettered ${backlog.deadLettered}`
    })
  )

  yield* step(
    "/metrics",
    Effect.gen(function* () {
      const metrics = yield* api("/metrics", { key: false })
      const shown = metrics.text
        .split("\n")
        .filter((l) =>
          /^aegispay_(payments_total\{status="succeeded"|circuit_breaker_state|idempotent_replays_total|reconciliations_total|outbox_published_total)/.test(
            l
          )
        )
        .map((l) => l.replace(/,?otel_scope_name="[^"]*"/, "").replace("{}", ""))
      yield* expect(metrics.status === 200, "metrics served")
      yield* expect(
        shown.some((l) => l.startsWith('aegispay_circuit_breaker_state{gateway="psp-cheap"} 2')),
        "the breaker gauge shows psp-cheap open (2)"
      )
      yield* expect(
        shown.some((l) => l.startsWith("aegispay_idempotent_replays_total")),
        "the idempotent replay is counted"
      )
      return `an excerpt\n      ${shown.join("\n      ")}`
    })
  )

  yield* step(
    "/openapi.json",
    Effect.gen(function* () {
      const doc = yield* api("/openapi.json", { key: false })
      const info = doc.body["info"] as { title?: string; version?: string } | undefined
      yield* expect(doc.status === 200 && info?.title === "AegisPay", "the document's title")
      return `"${info?.title}" ${info?.version}, ${Object.keys(doc.body["paths"] as object).length} paths`
    })
  )
})

const program = Effect.gen(function* () {
  const started = Date.now()
  yield* tour
  yield* Console.log(`\nEvery step did what it shows (${((Date.now() - started) / 1000).toFixed(1)} s).`)
})

program
  .pipe(
    Effect.scoped,
    Effect.timeoutFail({
      duration: Duration.seconds(60),
      onTimeout: () => new ExpectationFailed({ message: "the tour took over 60 s" })
    }),
    Effect.provide(Logger.minimumLogLevel(LogLevel.Error)),
    Effect.runPromiseExit
  )
  .then((exit) => {
    if (Exit.isSuccess(exit)) process.exit(0)
    const failure = Cause.failureOption(exit.cause)
    console.error(
      Option.isSome(failure) && failure.value instanceof ExpectationFailed
        ? `FAILED: ${failure.value.message}`
        : Cause.pretty(exit.cause)
    )
    process.exit(1)
  })
