/**
 * `Setup.layerConfig`, the orchestrator from the environment (DESIGN.md section 7), with the
 * environment given as a map: embedded PGlite in a data directory, three in-process simulated PSPs
 * when `AEGISPAY_GATEWAYS` is absent, configured PSP accounts when present, the outbox relay
 * publishing to the in-process bus and, with `NATS_URL`, to JetStream; bad configuration fails
 * start-up with one clear message.
 */
import { Card, Currency, Customer, Gateway, type Ids, Money } from "@aegispay/core"
import { EventBus, JetStream } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { assert, describe, it } from "@effect/vitest"
import { PaymentService, Setup } from "aegispay"
import {
  Chunk,
  ConfigProvider,
  Context,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Schedule,
  Schema,
  Stream
} from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const dataDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "aegispay-setup-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const build = (env: Record<string, string>) =>
  Layer.build(
    Setup.layerConfig.pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
    )
  )

const input = (merchant: string): PaymentService.CreatePaymentInput => ({
  merchantId: merchant as Ids.MerchantId,
  amount: Money.make(1_999n, Currency.make("EUR")),
  customer: new Customer.Customer({ id: "cus_setup" as Ids.CustomerId }),
  card: Schema.decodeUnknownSync(Card.CardDetails)({
    number: "4242424242424242",
    expMonth: 6,
    expYear: 2032,
    cvc: "123"
  })
})

describe("Setup.layerConfig", () => {
  it.scopedLive(
    "no AEGISPAY_GATEWAYS: three simulated PSPs on PGlite; the relay publishes to the bus",
    () =>
      Effect.gen(function* () {
        const dir = yield* dataDir
        const context = yield* build({ AEGISPAY_DATA_DIR: dir })
        const setup = Context.get(context, Setup.GatewaySetup)
        assert.isTrue(setup.simulated)
        assert.strictEqual(setup.gateways.length, 3)
        assert.strictEqual((yield* Context.get(context, Gateway.GatewayRegistry).all).length, 3)
        const stream = yield* Context.get(context, EventBus.EventBus).subscribe()
        const received = yield* Effect.fork(Stream.runCollect(Stream.take(stream, 3)))
        const paid = yield* Context.get(context, PaymentService.PaymentService).create(input("m_setup"))
        assert.strictEqual(paid.value.status, "succeeded")
        const messages = yield* Fiber.join(received).pipe(Effect.timeout("20 seconds"))
        assert.isTrue(Chunk.every(messages, (m) => m.streamId === paid.value.id))
      }),
    60_000
  )

  it.scopedLive(
    "AEGISPAY_GATEWAYS: the configured accounts, over HTTP",
    () =>
      Effect.gen(function* () {
        const dir = yield* dataDir
        const sim = Context.get(yield* Layer.build(Simulator.layer({ name: "setup" })), Simulator.Simulator)
        const gateways = JSON.stringify([
          { id: "stripe-main", type: "stripe", baseUrl: sim.url, apiKey: "sk_test_setup", fees: { bps: 120 } }
        ])
        const context = yield* build({ AEGISPAY_DATA_DIR: dir, AEGISPAY_GATEWAYS: gateways })
        const setup = Context.get(context, Setup.GatewaySetup)
        assert.deepStrictEqual(setup, { simulated: false, gateways: [{ id: "stripe-main", url: sim.url }] })
        const paid = yield* Context.get(context, PaymentService.PaymentService).create(input("m_setup"))
        assert.deepStrictEqual([paid.value.status, paid.value.gateway], ["succeeded", "stripe-main"])
        assert.strictEqual((yield* sim.ledger).length, 1, "charged once, on the configured account")
      }),
    60_000
  )

  it.scopedLive(
    "bad configuration stops start-up with one clear message and no secret",
    () =>
      Effect.gen(function* () {
        const dir = yield* dataDir
        const cases: ReadonlyArray<readonly [Record<string, string>, RegExp]> = [
          [{ AEGISPAY_GATEWAYS: "[{" }, /AEGISPAY_GATEWAYS must be a JSON list/],
          [
            {
              AEGISPAY_GATEWAYS: JSON.stringify([
                { id: "x", type: "stripe", baseUrl: "nope", apiKey: "sk_live_secret" }
              ])
            },
            /baseUrl must be an http\(s\) URL/
          ],
          [
            {
              AEGISPAY_GATEWAYS: JSON.stringify([
                { id: "x", type: "adyen", baseUrl: "http://a", apiKey: "sk_live_secret" }
              ])
            },
            /merchantAccount/
          ]
        ]
        for (const [env, message] of cases) {
          const exit = yield* Effect.exit(Effect.scoped(build({ AEGISPAY_DATA_DIR: dir, ...env })))
          assert.isTrue(Exit.isFailure(exit))
          const text = Exit.isFailure(exit) ? String(exit.cause) : ""
          assert.match(text, message)
          assert.notInclude(text, "sk_live_secret")
        }
      }),
    60_000
  )

  it.scopedLive(
    "NATS_URL: every event also reaches JetStream (CI sets it; skipped on a laptop without it)",
    () =>
      Effect.gen(function* () {
        const url = process.env["NATS_URL"]
        if (url === undefined) {
          if (process.env["AEGISPAY_REQUIRE_SERVICES"] === "1")
            return yield* Effect.die("NATS_URL is required in CI")
          return
        }
        const suffix = `${process.pid}_${Date.now()}`
        const stream = `AEGISPAY_SETUP_${suffix}`
        const dir = yield* dataDir
        const context = yield* build({
          AEGISPAY_DATA_DIR: dir,
          NATS_URL: url,
          AEGISPAY_NATS_STREAM: stream,
          AEGISPAY_NATS_SUBJECT_PREFIX: `aegispay_setup_${suffix}`
        })
        // a second handle on the same stream, to count its messages and delete it afterwards
        const probe = yield* JetStream.make({ servers: url, stream, prefix: `aegispay_setup_${suffix}` })
        yield* Effect.addFinalizer(() => Effect.ignore(probe.deleteStream))
        const paid = yield* Context.get(context, PaymentService.PaymentService).create(input("m_nats"))
        assert.strictEqual(paid.value.status, "succeeded")
        yield* probe.messages.pipe(
          Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n >= paid.value.version }),
          Effect.timeout("20 seconds")
        )
        assert.strictEqual(yield* probe.messages, paid.value.version, "one message per event, no duplicate")
      }),
    60_000
  )
})
