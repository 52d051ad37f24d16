import { Card, Currency, Customer, EventStore, Ids, Money, Outbox, PaymentEvent } from "@aegispay/core"
import { Database, SqlStores, Testing } from "@aegispay/infra"
import { SqlClient } from "@effect/sql"
import { assert, describe, layer } from "@effect/vitest"
import { DateTime, Effect, Either, Layer, Schema } from "effect"

const initiated = (paymentId: Ids.PaymentId) =>
  new PaymentEvent.PaymentInitiated({
    paymentId,
    merchantId: "m_append" as Ids.MerchantId,
    amount: Money.make(1000n, Currency.make("EUR")),
    captureMethod: "automatic",
    customer: new Customer.Customer({ id: "c" as Ids.CustomerId }),
    card: new Card.CardSummary({ brand: "visa", last4: "4242", expMonth: 1, expYear: 2030 }),
    metadata: {},
    at: DateTime.unsafeMake(0)
  })
const authenticated = (n: number) => new PaymentEvent.PaymentAuthenticated({ at: DateTime.unsafeMake(n) })
const refund = (id: string, n: number) =>
  new PaymentEvent.RefundRequested({
    refundId: `re_01J9Z8X6Q2M4T7V3B5N8R1K0${id}` as Ids.RefundId,
    amount: 100n as PaymentEvent.RefundRequested["amount"],
    at: DateTime.unsafeMake(n)
  })

const suite = (name: string, stores: Layer.Layer<Database.Stores | SqlClient.SqlClient, unknown>) =>
  layer(stores, { excludeTestServices: true, timeout: "60 seconds" })(
    `${name} append (one statement)`,
    (it) => {
      const prefix = `pay_01J9Z8X6Q2M4T7V3B5N8AP${name === "PGlite" ? "P" : "Q"}`
      it.effect(
        "a batch: global positions and outbox ids in version order, payload = the recorded event",
        () =>
          Effect.gen(function* () {
            const store = yield* EventStore.EventStore
            const sql = yield* SqlClient.SqlClient
            const id = `${prefix}001` as Ids.PaymentId
            const written = yield* store.append(
              id,
              0,
              [initiated(id), ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map(authenticated)],
              {
                correlationId: "c-batch"
              }
            )
            assert.deepStrictEqual(
              written.map((e) => e.version),
              [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
            )
            assert.isTrue(
              written.every((e, i) => i === 0 || written[i - 1]!.globalPosition < e.globalPosition)
            )
            const read = yield* store.read(id)
            assert.deepStrictEqual(
              read.map((e) => e.globalPosition),
              written.map((e) => e.globalPosition)
            )
            const rows = yield* sql<{
              readonly event_id: string
              readonly payload: string
              readonly headers: string
            }>`
          SELECT event_id, payload, headers::text AS headers FROM outbox WHERE stream_id = ${id} ORDER BY id`
            assert.deepStrictEqual(
              rows.map((r) => r.event_id),
              written.map((e) => e.eventId),
              "outbox ids follow the versions"
            )
            const encode = Schema.encodeSync(Schema.parseJson(EventStore.RecordedEvent))
            rows.forEach((r, i) => {
              assert.strictEqual(r.payload, encode(written[i]!), "payload byte for byte")
              assert.strictEqual(
                (JSON.parse(r.headers) as Record<string, string>)["correlation-id"],
                "c-batch"
              )
            })
          })
      )

      it.effect(
        "the read model and refunds follow each append; a second store instance reads the state back",
        () =>
          Effect.gen(function* () {
            const store = yield* EventStore.EventStore
            const sql = yield* SqlClient.SqlClient
            const other = (yield* SqlStores.make()).eventStore
            const id = `${prefix}002` as Ids.PaymentId
            yield* store.append(id, 0, [initiated(id)])
            yield* store.append(id, 1, [authenticated(1)])
            // `other` never saw this stream: it reads the snapshot before writing
            yield* other.append(id, 2, [refund("A1", 2)])
            // `store` remembered version 2: its stale append meets the unique (stream_id, version), writes nothing
            const stale = yield* Effect.either(store.append(id, 2, [refund("A3", 3)]))
            assert.isTrue(
              Either.isLeft(stale) &&
                stale.left._tag === "ConcurrencyConflict" &&
                stale.left.actualVersion === 3
            )
            yield* store.append(id, 3, [refund("A4", 4)])
            const payment = yield* sql<{ readonly version: number; readonly status: string }>`
          SELECT version, status FROM payments WHERE id = ${id}`
            assert.deepStrictEqual(payment[0], { version: 4, status: "authenticated" })
            const refunds = yield* sql<{
              readonly id: string
            }>`SELECT id FROM refunds WHERE payment_id = ${id} ORDER BY id`
            assert.deepStrictEqual(
              refunds.map((r) => r.id),
              ["re_01J9Z8X6Q2M4T7V3B5N8R1K0A1", "re_01J9Z8X6Q2M4T7V3B5N8R1K0A4"]
            )
            const outbox = yield* Outbox.Outbox
            assert.isAtLeast((yield* outbox.backlog).pending, 4)
          }).pipe(Effect.provide(Ids.layerRandom))
      )

      it.effect(
        "an expected version the stream never reached: ConcurrencyConflict with the actual version, nothing written",
        () =>
          Effect.gen(function* () {
            const store = yield* EventStore.EventStore
            const sql = yield* SqlClient.SqlClient
            const other = (yield* SqlStores.make()).eventStore
            const id = `${prefix}003` as Ids.PaymentId
            yield* store.append(id, 0, [initiated(id), authenticated(1)])
            const count = sql<{ readonly n: number }>`
          SELECT (SELECT count(*) FROM events WHERE stream_id = ${id})::int
            + (SELECT count(*) FROM outbox WHERE stream_id = ${id})::int AS n`
            const before = (yield* count)[0]?.n
            // `other` has no state for the stream: it reads it, finds version 2 and fails before writing
            const ahead = yield* Effect.either(other.append(id, 5, [authenticated(5)]))
            assert.isTrue(
              Either.isLeft(ahead) &&
                ahead.left._tag === "ConcurrencyConflict" &&
                ahead.left.actualVersion === 2
            )
            // the function checks the version itself too (the store's check above may use a remembered state)
            const direct = yield* sql<{ readonly actual: number; readonly positions: string | null }>`
          SELECT actual, positions FROM aegispay_append(${id}, 4, now(), '{}'::jsonb,
            ${JSON.stringify([{ event_id: `evt_${id}_x`, version: 5, type: "PaymentAuthenticated", data: "{}" }])}::json,
            '[]'::json, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`
            assert.deepStrictEqual(direct, [{ actual: 2, positions: null }])
            assert.strictEqual((yield* count)[0]?.n, before)
            const payment = yield* sql<{
              readonly version: number
            }>`SELECT version FROM payments WHERE id = ${id}`
            assert.strictEqual(payment[0]?.version, 2)
          }).pipe(Effect.provide(Ids.layerRandom))
      )
    }
  )

describe("the SQL append", () => {
  suite("PGlite", Database.layerPglite().pipe(Layer.provide(Ids.layerRandom)))
  const url = process.env["DATABASE_URL"]
  if (url !== undefined && url !== "")
    suite(
      "PostgreSQL",
      Testing.layerPgThrowawaySchema(url, "aegispay_append").pipe(Layer.provide(Ids.layerRandom))
    )
})
