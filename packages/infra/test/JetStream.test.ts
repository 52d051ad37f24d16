import { EventStore, Ids, Outbox } from "@aegispay/core"
import { Database, JetStream, Relay } from "@aegispay/infra"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { authenticated, initiated } from "./support/events.js"

const url = process.env["NATS_URL"]

describe("JetStream publisher", () => {
  if (url === undefined || url === "") {
    it("needs NATS_URL (CI sets it; on a laptop it is skipped)", ({ skip }) => {
      if (process.env["AEGISPAY_REQUIRE_SERVICES"] === "1") throw new Error("NATS_URL is required in CI")
      skip()
    })
    return
  }

  it.live("a relay killed between publish and mark publishes again, and the broker drops the copy", () =>
    Effect.gen(function* () {
      const suffix = `${process.pid}_${Math.floor(performance.now())}`
      const nats = yield* JetStream.make({
        servers: url,
        stream: `AEGISPAY_TEST_${suffix}`,
        prefix: `aegispay_test_${suffix}`
      })
      yield* Effect.addFinalizer(() => Effect.ignore(nats.deleteStream))
      const store = yield* EventStore.EventStore
      const paymentId = "pay_01J9Z8X6Q2M4T7V3B5N8R1KNAT" as Ids.PaymentId
      yield* store.append(paymentId, 0, [initiated(paymentId, { merchantId: "m_nats" }), authenticated(1)], {
        correlationId: "corr-nats"
      })

      // the first relay publishes the first message, then "dies" before marking it published
      let published = 0
      const dying = yield* Relay.make(
        {
          name: "dying",
          publish: (m) =>
            published++ === 0
              ? Effect.zipRight(
                  nats.publisher.publish(m),
                  Effect.fail(new Outbox.PublishError({ publisher: "dying", reason: "killed before mark" }))
                )
              : Effect.fail(new Outbox.PublishError({ publisher: "dying", reason: "dead" }))
        },
        { backoff: "1 millis" }
      )
      yield* dying.runOnce
      assert.strictEqual(yield* nats.messages, 1)

      // a healthy relay takes over: it publishes the first message again (dropped) and the second
      const healthy = yield* Relay.make(nats.publisher, { backoff: "1 millis" })
      for (let i = 0; i < 20 && (yield* Effect.flatMap(Outbox.Outbox, (o) => o.backlog)).pending > 0; i++) {
        yield* healthy.runOnce
        yield* Effect.sleep("5 millis")
      }
      assert.strictEqual((yield* Effect.flatMap(Outbox.Outbox, (o) => o.backlog)).pending, 0)
      assert.strictEqual(yield* nats.messages, 2, "the copy was dropped by the duplicate window")
    }).pipe(Effect.scoped, Effect.provide(Database.layerPglite().pipe(Layer.provide(Ids.layerRandom))))
  )
})
