/**
 * The transactional outbox on embedded PGlite (a throwaway data directory). Each append writes a
 * payment's events and one outbox row per event in the same transaction, so an event is never
 * recorded without its message (nor a message without its event). A relay then publishes the
 * messages at least once, in order per payment, to:
 *
 * - the in-process event bus, whose subscriber deduplicates by event id;
 * - with `NATS_URL` set, NATS JetStream (a stream made for this run and deleted at the end), which
 *   drops the copies itself (the event id is the message id);
 * - a signed webhook to a local receiver that checks the HMAC signature, and answers the very first
 *   delivery with a 500 to show the relay's retry.
 *
 * Exits 0 when everything it shows happened, 1 otherwise.
 *
 *   pnpm --filter @aegispay/example-outbox start
 */
import { Card, Currency, Customer, EventStore, Gateway, Ids, Money, Outbox } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Database, EventBus, JetStream, Relay, Webhooks } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { AegisPay, GatewayGuard, PaymentService } from "aegispay"
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
  Schema,
  Stream
} from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"

class ExpectationFailed extends Data.TaggedError("ExpectationFailed")<{ readonly message: string }> {}

const expect = (ok: boolean, what: string) =>
  ok ? Effect.void : Effect.fail(new ExpectationFailed({ message: what }))

/** Polls `probe` until it holds, failing after `timeout`. */
const waitUntil = (what: string, probe: Effect.Effect<boolean, unknown>, timeout: Duration.DurationInput) =>
  probe.pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (ok) => ok }),
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new ExpectationFailed({ message: `timed out waiting: ${what}` })
    })
  )

const merchantId = "merchant_outbox" as Ids.MerchantId
const secret = Redacted.make("whsec_example_0123456789")

interface Recorded {
  readonly streamId: string
  readonly version: number
  readonly type: string
}
/** Payment ids share their time prefix: the example names them instead. */
const names = new Map<string, string>()
const describe = (r: Recorded) => `${(names.get(r.streamId) ?? r.streamId).padEnd(9)} v${r.version} ${r.type}`

/** A throwaway data directory, removed when the scope closes (after the database is closed). */
const dataDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "aegispay-outbox-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

interface Delivery {
  readonly eventId: string
  readonly status: number
}

/**
 * The webhook receiver on 127.0.0.1: verifies `AegisPay-Signature` with `Webhooks.verify`; the first
 * delivery is answered 500 on purpose.
 */
const receiver = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly deliveries: Array<Delivery>; close: () => void }>(
    (resume) => {
      const deliveries: Array<Delivery> = []
      const server = createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8")
          const eventId = String(request.headers["aegispay-event-id"] ?? "?")
          const header = String(request.headers["aegispay-signature"] ?? "")
          const verified = Webhooks.verify(secret, header, body, Math.floor(Date.now() / 1000))
          const event = JSON.parse(body) as Recorded
          const status = deliveries.length === 0 ? 500 : verified ? 200 : 401
          deliveries.push({ eventId, status })
          console.log(
            `  webhook  ${describe(event)}  signature ${verified ? "valid" : "INVALID"} → ${status}${status === 500 ? " (failing the first delivery on purpose)" : ""}`
          )
          response.writeHead(status, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(
          Effect.succeed({
            url: `http://127.0.0.1:${port}/hooks/aegispay`,
            deliveries,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          })
        )
      })
    }
  ),
  (r) => Effect.sync(r.close)
)

/** One publisher over several, in order; a failure of any one makes the relay retry the message. */
const fanOut = (publishers: ReadonlyArray<Outbox.Publisher["Type"]>): Outbox.Publisher["Type"] => ({
  name: publishers.map((p) => p.name).join(" + "),
  publish: (message) => Effect.forEach(publishers, (p) => p.publish(message), { discard: true })
})

const card = (number: string) =>
  Schema.decodeUnknownSync(Card.CardDetails)({ number, expMonth: 12, expYear: 2031, cvc: "123" })

const program = Effect.gen(function* () {
  const dir = yield* dataDir
  const sim = Context.get(yield* Layer.build(Simulator.layer({ name: "outbox" })), Simulator.Simulator)
  const stripe = yield* Stripe.make({
    id: "psp-sim" as Ids.GatewayId,
    baseUrl: sim.url,
    apiKey: Redacted.make("sk_test_outbox")
  }).pipe(Effect.provide(FetchHttpClient.layer))
  const context = yield* Layer.build(
    Layer.merge(
      AegisPay.compose(
        {
          stores: Database.layerPglite({ dataDir: dir }).pipe(Layer.provide(Ids.layer)),
          gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom([stripe])),
          guard: GatewayGuard.layer()
        },
        { reconciler: { background: false } }
      ),
      EventBus.layer
    )
  )
  const payments = Context.get(context, PaymentService.PaymentService)
  const store = Context.get(context, EventStore.EventStore)
  const outbox = Context.get(context, Outbox.Outbox)
  const sql = Context.get(context, SqlClient.SqlClient)
  const bus = Context.get(context, EventBus.EventBus)
  yield* Console.log(`PGlite in ${dir}`)

  // ── payments: events and outbox rows written together ──────────────────────────────────
  yield* Console.log(
    "\n1. Three payments; each append writes its events and their outbox rows in one transaction"
  )
  const request = (number: string, captureMethod: "automatic" | "manual") => ({
    merchantId,
    amount: Money.make(1_250n, Currency.make("EUR")),
    customer: new Customer.Customer({ id: "cus_outbox" as Ids.CustomerId }),
    captureMethod,
    card: card(number)
  })
  const approved = (yield* payments.create(request("4242424242424242", "automatic"))).value
  const manual = (yield* payments.create(request("4242424242424242", "manual"))).value
  yield* payments.capture({ merchantId, paymentId: manual.id })
  const declined = (yield* payments.create(request("4000000000000002", "automatic"))).value
  const ids = [approved.id, manual.id, declined.id]
  names.set(approved.id, "approved").set(manual.id, "manual").set(declined.id, "declined")

  const counts = (id: Ids.PaymentId) =>
    Effect.map(
      sql<{ readonly events: number; readonly outbox: number }>`
        SELECT (SELECT count(*)::int FROM events WHERE stream_id = ${id}) AS events,
               (SELECT count(*)::int FROM outbox WHERE stream_id = ${id}) AS outbox`,
      (rows) => rows[0]!
    )
  let total = 0
  for (const id of ids) {
    const c = yield* counts(id)
    const p = yield* payments.get(merchantId, id)
    yield* Console.log(
      `   ${names.get(id)!.padEnd(9)} ${id}  ${p.status.padEnd(10)} events ${c.events}, outbox rows ${c.outbox}`
    )
    yield* expect(c.events > 0 && c.events === c.outbox, `${id}: as many outbox rows as events`)
    total += c.events
  }

  // a stale writer (expected version 0 on an existing stream) is refused: neither table changes
  const before = yield* counts(approved.id)
  const [first] = yield* store.read(approved.id, { toVersion: 1 })
  const stale = yield* Effect.flip(store.append(approved.id, 0, [first!.event]))
  const after = yield* counts(approved.id)
  yield* Console.log(
    `   a stale append to approved is refused (${stale._tag}): events ${before.events}→${after.events}, outbox ${before.outbox}→${after.outbox}`
  )
  yield* expect(stale._tag === "ConcurrencyConflict", "a stale append fails with ConcurrencyConflict")
  yield* expect(
    before.events === after.events && before.outbox === after.outbox,
    "a refused append writes neither events nor outbox rows"
  )

  const waiting = yield* outbox.backlog
  yield* Console.log(
    `   backlog before the relay runs: ${waiting.pending} pending, ${waiting.deadLettered} dead-lettered, oldest ${Math.round(waiting.oldestPendingAgeMillis)} ms`
  )
  yield* expect(waiting.pending === total, `the backlog holds the ${total} messages`)

  // ── subscribers and publishers ─────────────────────────────────────────────────────────
  const seen = new Set<string>()
  const lastVersion = new Map<string, number>()
  let duplicates = 0
  let outOfOrder = 0
  const messages = yield* bus.subscribe()
  yield* messages.pipe(
    Stream.runForEach((m) =>
      Effect.gen(function* () {
        const event = JSON.parse(m.payload) as Recorded
        if (seen.has(m.eventId)) {
          duplicates += 1
          return yield* Console.log(`  bus      ${describe(event)}  duplicate of ${m.eventId}: dropped`)
        }
        seen.add(m.eventId)
        if (m.version !== (lastVersion.get(m.streamId) ?? 0) + 1) outOfOrder += 1
        lastVersion.set(m.streamId, m.version)
        yield* Console.log(`  bus      ${describe(event)}`)
      })
    ),
    Effect.forkScoped
  )

  const hook = yield* receiver
  const webhook = yield* Webhooks.make({ url: hook.url, secret, attempts: 1 }).pipe(
    Effect.provide(FetchHttpClient.layer)
  )
  const natsUrl = process.env["NATS_URL"]
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`.toUpperCase()
  const jetstream = natsUrl
    ? yield* Effect.acquireRelease(
        JetStream.make({
          servers: natsUrl,
          stream: `AEGISPAY_EXAMPLE_${suffix}`,
          prefix: `aegispay_example_${suffix.toLowerCase()}`
        }),
        (js) => Effect.ignore(js.deleteStream)
      )
    : undefined
  const publisher = fanOut([bus.publisher, ...(jetstream ? [jetstream.publisher] : []), webhook])

  // ── the relay ──────────────────────────────────────────────────────────────────────────
  yield* Console.log(
    `\n2. The relay publishes to ${publisher.name}${jetstream ? ` (stream AEGISPAY_EXAMPLE_${suffix})` : " (set NATS_URL to add JetStream)"}, in order per payment`
  )
  const relay = yield* Relay.make(publisher, { backoff: "200 millis", pollInterval: "100 millis" }).pipe(
    Effect.provide(context)
  )
  yield* Effect.forkScoped(relay.run)
  const pending: Array<number> = [waiting.pending]
  yield* waitUntil(
    "the backlog drains to 0",
    Effect.map(outbox.backlog, (b) => {
      if (b.pending !== pending[pending.length - 1]) pending.push(b.pending)
      return b.pending === 0
    }),
    "20 seconds"
  )
  yield* waitUntil(
    "the bus subscriber sees every event",
    Effect.sync(() => seen.size === total),
    "5 seconds"
  )

  // ── what happened ──────────────────────────────────────────────────────────────────────
  const drained = yield* outbox.backlog
  const dead = yield* outbox.deadLetters(10)
  const failedFirst = hook.deliveries[0]
  const retried = hook.deliveries.filter((d) => d.eventId === failedFirst?.eventId)
  const accepted = new Set(hook.deliveries.filter((d) => d.status === 200).map((d) => d.eventId))
  yield* Console.log("\n3. Outcome")
  yield* Console.log(`   backlog: ${pending.join(" → ")} pending; dead-lettered ${drained.deadLettered}`)
  yield* Console.log(
    `   webhook: ${hook.deliveries.length} deliveries for ${total} events; ${failedFirst?.eventId} answered ${retried.map((d) => d.status).join(", then ")}`
  )
  yield* Console.log(
    `   bus: ${seen.size} events in order per payment (${outOfOrder} out of order), ${duplicates} duplicate(s) dropped by event id`
  )
  yield* expect(drained.pending === 0, "the backlog drained to 0")
  yield* expect(drained.deadLettered === 0 && dead.length === 0, "nothing was dead-lettered")
  yield* expect(failedFirst?.status === 500, "the first webhook delivery failed")
  yield* expect(
    retried.length >= 2 && retried[retried.length - 1]!.status === 200,
    "the failed delivery was retried and accepted"
  )
  yield* expect(
    hook.deliveries.every((d) => d.status !== 401),
    "every webhook signature verified"
  )
  yield* expect(accepted.size === total, "the webhook accepted every event")
  yield* expect(outOfOrder === 0, "the bus saw each payment's events in order")
  yield* expect(duplicates >= 1, "the retried message reached the bus twice (at least once)")
  if (jetstream) {
    const stored = yield* jetstream.messages
    yield* Console.log(
      `   JetStream: ${stored} messages in AEGISPAY_EXAMPLE_${suffix} for ${total} events (the broker drops copies by message id); the stream is deleted on exit`
    )
    yield* expect(stored === total, "JetStream holds each event once")
  }
  yield* Console.log("\nAll the outbox did what it shows.")
})

program
  .pipe(
    Effect.scoped,
    Effect.timeoutFail({
      duration: "60 seconds",
      onTimeout: () => new ExpectationFailed({ message: "the example took over 60 s" })
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
