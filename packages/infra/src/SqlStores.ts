/**
 * The store ports on SQL (PostgreSQL or PGlite through one `SqlClient`): an append writes the events,
 * the `payments` and `refunds` read model and one outbox row per event in ONE transaction, and
 * fails with `ConcurrencyConflict` when the stream moved. SQL errors become `PersistenceError`;
 * rows that do not decode are defects.
 *
 * @since 0.1.0
 */
import {
  EventStore,
  IdempotencyStore,
  Ids,
  Outbox,
  Payment,
  PaymentEvent,
  PaymentReadModel,
  PersistenceError
} from "@aegispay/core"
import { SqlClient, type SqlError } from "@effect/sql"
import {
  Chunk,
  Clock,
  Context,
  DateTime,
  Deferred,
  Duration,
  Effect,
  Exit,
  Layer,
  Metric,
  MetricBoundaries,
  Option,
  Queue,
  Schema
} from "effect"
import { analytics, awaitsReconciliation, decodeCursor, encodeCursor } from "./internal/analytics.js"
import { headersOf, topicOf } from "./Memory.js"

const EventJson = Schema.parseJson(PaymentEvent.PaymentEvent)
const PaymentJson = Schema.parseJson(Payment.Payment)
const MetadataJson = Schema.parseJson(EventStore.EventMetadata)
const RecordedJson = Schema.parseJson(EventStore.RecordedEvent)
const encodeRecorded = Schema.encodeSync(EventStore.RecordedEvent)
const ResponseJson = Schema.parseJson(IdempotencyStore.StoredResponse)
const encodePayment = Schema.encodeSync(Payment.Payment)

const EventRow = Schema.Struct({
  event_id: Ids.EventId,
  stream_id: Ids.PaymentId,
  version: Schema.Number,
  position: Schema.String,
  type: Schema.String,
  data: Schema.String,
  metadata: Schema.String,
  recorded_ms: Schema.Number
})

const toRecorded = (row: typeof EventRow.Type): EventStore.RecordedEvent =>
  new EventStore.RecordedEvent({
    eventId: row.event_id,
    streamId: row.stream_id,
    version: row.version,
    globalPosition: BigInt(row.position),
    type: row.type,
    event: Schema.decodeSync(EventJson)(row.data),
    metadata: Schema.decodeSync(MetadataJson)(row.metadata),
    recordedAt: DateTime.unsafeMake(row.recorded_ms)
  })

const persistence = (operation: string) => (cause: SqlError.SqlError) =>
  new PersistenceError.PersistenceError({ operation, cause })

const isUniqueViolation = (e: SqlError.SqlError): boolean => {
  for (
    let c: unknown = e, d = 0;
    c !== undefined && c !== null && d < 5;
    c = (c as { cause?: unknown }).cause, d++
  ) {
    if ((c as { code?: unknown }).code === "23505") return true
  }
  return /duplicate key|unique constraint/i.test(String((e.cause as Error | undefined)?.message ?? ""))
}

/** The encoded `RecordedEvent` with `globalPosition: 0n` contains this once, before the event. */
const POSITION_MARK = `"globalPosition":"0"`
const STATE_CACHE = 10_000
const iso = (epochMillis: number) => new Date(epochMillis).toISOString()
/** Appends written at once, each taking a connection while its statement runs. */
const APPEND_WRITERS = 2
/** The most appends in one statement (each is a subtransaction; PostgreSQL caches 64 per transaction). */
const APPEND_BATCH = 32

/**
 * How many appends each statement wrote (group commit): its count is the statements, its sum the
 * appends. Under load, a mean well above 1 is the batching at work.
 *
 * @since 0.1.0
 * @category metrics
 */
export const appendBatchSize = Metric.histogram(
  "aegispay_event_store_append_batch_size",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 6 }),
  "Appends written by one statement (group commit)"
)

const eventColumns = `event_id, stream_id, version, global_position::text AS position, type, data::text AS data,
  metadata::text AS metadata, (extract(epoch from recorded_at) * 1000)::float8 AS recorded_ms`

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Partial<IdempotencyStore.Options> = {}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ids = yield* Ids.Ids
    const ttl = Duration.toMillis(Duration.decode(options.ttl ?? IdempotencyStore.defaults.ttl))
    const lease = Duration.toMillis(Duration.decode(options.lease ?? IdempotencyStore.defaults.lease))
    const rowsOf = (rows: ReadonlyArray<unknown>) =>
      rows.map((r) => toRecorded(Schema.decodeUnknownSync(EventRow)(r)))

    // The state of a stream at a version is a function of its events, which never change once
    // written: the last state this store wrote or read per stream saves reading it back before the
    // next append (the write still checks the version, so a stale entry can only cost a conflict).
    const states = new Map<string, { readonly version: number; readonly state: Payment.State }>()
    const remember = (streamId: string, version: number, state: Payment.State) => {
      states.delete(streamId)
      states.set(streamId, { version, state })
      if (states.size > STATE_CACHE) states.delete(states.keys().next().value!)
    }
    const conflict = (streamId: Ids.PaymentId, expectedVersion: number, actualVersion: number) =>
      new EventStore.ConcurrencyConflict({ streamId, expectedVersion, actualVersion })
    const currentVersion = (streamId: Ids.PaymentId) =>
      sql<{
        readonly version: number
      }>`SELECT coalesce(max(version), 0)::int AS version FROM events WHERE stream_id = ${streamId}`.pipe(
        Effect.map((rows) => rows[0]?.version ?? 0),
        Effect.mapError(persistence("append"))
      )

    /** The state at `expectedVersion`: initial for a new stream, remembered, or read (one statement). */
    const stateAt = (streamId: Ids.PaymentId, expectedVersion: number) =>
      Effect.gen(function* () {
        if (expectedVersion === 0) return Payment.initial
        const known = states.get(streamId)
        if (known !== undefined && known.version === expectedVersion) return known.state
        const rows = yield* sql<{ readonly version: number; readonly snapshot: string | null }>`
          SELECT coalesce(max(e.version), 0)::int AS version,
            (SELECT snapshot::text FROM payments WHERE id = ${streamId}) AS snapshot
          FROM events e WHERE e.stream_id = ${streamId}`.pipe(Effect.mapError(persistence("append")))
        const actual = rows[0]?.version ?? 0
        if (actual !== expectedVersion) return yield* conflict(streamId, expectedVersion, actual)
        const snapshot = rows[0]?.snapshot
        return snapshot != null ? Schema.decodeSync(PaymentJson)(snapshot) : Payment.initial
      })

    /** One append to one stream, in the `aegispay_append` function's terms (absent = NULL). */
    interface Write {
      readonly stream_id: string
      readonly expected_version: number
      readonly at: string
      readonly metadata: unknown
      readonly events: ReadonlyArray<unknown>
      readonly outbox: ReadonlyArray<unknown>
      readonly payment_id?: string
      readonly merchant_id?: string
      readonly customer_id?: string
      readonly status?: string
      readonly currency?: string
      readonly amount?: string
      readonly awaiting_reconciliation?: boolean
      readonly version?: number
      readonly created_at?: string
      readonly updated_at?: string
      readonly snapshot?: unknown
      readonly refunds?: ReadonlyArray<unknown>
    }
    interface Written {
      readonly actual: number
      readonly positions: string | null
    }
    const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value))

    /**
     * One statement, so one round trip and atomic without BEGIN/COMMIT: the `aegispay_append`
     * function (migration 0004) inserts the events (only if the stream is at `expectedVersion`: the
     * event at that version exists, and unique `(stream_id, version)` rejects a concurrent writer),
     * the outbox rows (whose payload gets the event's global position), then the `payments` row and
     * the `refunds` rows, and notifies the relay. The events come first: two racing appends meet on
     * the events index, never in a lock cycle. The query text never changes and the function's plans
     * are cached per session, so nothing is planned again per append.
     */
    const writeOne = (w: Write) =>
      sql<Written>`
        SELECT actual, positions FROM aegispay_append(${w.stream_id}, ${w.expected_version}::int, ${w.at}::timestamptz,
          ${json(w.metadata)}::jsonb, ${json(w.events)}::json, ${json(w.outbox)}::json,
          ${w.payment_id ?? null}::text, ${w.merchant_id ?? null}::text, ${w.customer_id ?? null}::text,
          ${w.status ?? null}::text, ${w.currency ?? null}::text, ${w.amount ?? null}::numeric,
          ${w.awaiting_reconciliation ?? null}::boolean, ${w.version ?? null}::int,
          ${w.created_at ?? null}::timestamptz, ${w.updated_at ?? null}::timestamptz,
          ${json(w.snapshot)}::jsonb, ${json(w.refunds)}::json)`.pipe(
        Effect.map((rows): Written => rows[0] ?? { actual: 0, positions: null })
      )

    /**
     * Several appends in one statement and one transaction (`aegispay_append_batch`, migration
     * 0005): one round trip and one durable commit for all. An append that meets a concurrent writer
     * is rolled back alone; any other failure fails the batch, whose appends are then written one by
     * one (`writeBatch` below), so one bad append can never take the others down with it.
     */
    const writeMany = (ws: ReadonlyArray<Write>) =>
      sql<{ readonly idx: number } & Written>`
        SELECT idx, actual, positions FROM aegispay_append_batch(${JSON.stringify(ws)}::json)`.pipe(
        Effect.map((rows) => {
          const out = new Array<Written | undefined>(ws.length)
          for (const row of rows) out[row.idx] = row
          return out
        })
      )

    // Group commit. When no statement is in progress an append is written at once, by its own
    // fiber, as one statement (what a lone append always did). While statements are in progress,
    // appends queue, and APPEND_WRITERS writer fibers each take what queued (up to APPEND_BATCH) and
    // write it as one statement and one commit. Inside a caller's transaction the write stays on that
    // transaction's connection, unbatched.
    const answersAll = (written: ReadonlyArray<Written | undefined>) => {
      for (let i = 0; i < written.length; i++) if (written[i] === undefined) return false
      return true
    }
    type Queued = { readonly write: Write; readonly done: Deferred.Deferred<Written, SqlError.SqlError> }
    const queue = yield* Queue.unbounded<Queued>()
    // on close: the writers finish what they took (uninterruptibly, below), then whatever is still
    // queued fails instead of waiting for ever
    yield* Effect.addFinalizer(() =>
      Queue.takeAll(queue).pipe(
        Effect.flatMap((left) =>
          Effect.forEach(left, (q) => Deferred.die(q.done, new Error("the event store was closed")), {
            discard: true
          })
        ),
        Effect.zipRight(Queue.shutdown(queue))
      )
    )
    const writeBatch = (taken: ReadonlyArray<Queued>) =>
      Effect.gen(function* () {
        if (taken.length > 1) {
          const exit = yield* Effect.exit(writeMany(taken.map((t) => t.write)))
          if (Exit.isSuccess(exit) && answersAll(exit.value)) {
            for (let i = 0; i < taken.length; i++) yield* Deferred.succeed(taken[i]!.done, exit.value[i]!)
            return
          }
        }
        for (const t of taken) yield* Deferred.done(t.done, yield* Effect.exit(writeOne(t.write)))
      }).pipe(
        // a defect here must not leave a caller waiting for ever, nor stop the writer
        Effect.catchAllCause((cause) =>
          Effect.forEach(taken, (t) => Deferred.failCause(t.done, cause), { discard: true })
        ),
        Effect.uninterruptible
      )
    // statements in progress, direct or by a writer; only read and written in synchronous steps
    let writing = 0
    /** Writes `appends` appends with `effect`, counted as a statement in progress and in the histogram. */
    const counted = <A, E>(appends: number, effect: Effect.Effect<A, E>) =>
      Effect.uninterruptibleMask((restore) => {
        writing++
        return Effect.ensuring(
          Effect.zipRight(Metric.update(appendBatchSize, appends), restore(effect)),
          Effect.sync(() => {
            writing--
          })
        )
      })
    const writer = Queue.take(queue).pipe(
      Effect.flatMap((first) =>
        Effect.flatMap(Queue.takeUpTo(queue, APPEND_BATCH - 1), (rest) =>
          counted(1 + rest.length, writeBatch([first, ...Chunk.toReadonlyArray(rest)]))
        )
      ),
      Effect.forever
    )
    for (let i = 0; i < APPEND_WRITERS; i++) yield* Effect.forkScoped(writer)
    const queued = (w: Write) =>
      Effect.flatMap(Deferred.make<Written, SqlError.SqlError>(), (done) =>
        Effect.zipRight(Queue.offer(queue, { write: w, done }), Deferred.await(done))
      )
    // nothing being written: the append is written at once by its own fiber (no hand-over to a
    // writer, so a lone append costs what it did before group commit); otherwise it queues
    const write = (w: Write) =>
      Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (tx) =>
        Option.isSome(tx)
          ? writeOne(w)
          : Effect.suspend(() => (writing === 0 ? counted(1, writeOne(w)) : queued(w)))
      )

    const append: EventStore.Service["append"] = (streamId, expectedVersion, events, metadata = {}) =>
      Effect.gen(function* () {
        if (events.length === 0) {
          const actual = yield* currentVersion(streamId)
          return actual === expectedVersion ? [] : yield* conflict(streamId, expectedVersion, actual)
        }
        const eventIds = yield* Effect.all(events.map(() => ids.eventId))
        const now = yield* Clock.currentTimeMillis
        const before = yield* stateAt(streamId, expectedVersion)
        const after = Payment.replay(events, before)
        // built from values that are already valid, so without re-validation (it is per event and hot)
        const recorded = events.map(
          (event, i) =>
            new EventStore.RecordedEvent(
              {
                eventId: eventIds[i]!,
                streamId,
                version: expectedVersion + i + 1,
                globalPosition: 0n,
                type: event._tag,
                event,
                metadata,
                recordedAt: DateTime.unsafeMake(now)
              },
              true
            )
        )
        // each event is encoded once: its data column and its outbox payload come from one encoding
        const encoded = recorded.map((r) => encodeRecorded(r))
        // the payload is the recorded event's JSON; its global position is known only in SQL
        const payloads = encoded.map((e) => JSON.stringify(e))
        const cuts = payloads.map((payload) => payload.indexOf(POSITION_MARK))
        if (cuts.some((cut) => cut < 0)) {
          return yield* new PersistenceError.PersistenceError({
            operation: "append",
            cause: new Error("an encoded event has no globalPosition to fill in its outbox payload")
          })
        }
        const payment = Payment.exists(after) ? after : undefined
        const w: Write = {
          stream_id: streamId,
          expected_version: expectedVersion,
          at: iso(now),
          metadata: encoded[0]!.metadata,
          events: recorded.map((r, i) => ({
            event_id: r.eventId,
            version: r.version,
            type: r.type,
            data: JSON.stringify(encoded[i]!.event)
          })),
          outbox: recorded.map((r, i) => {
            const payload = payloads[i]!
            const cut = cuts[i]!
            return {
              event_id: r.eventId,
              topic: topicOf(r.event),
              head: payload.slice(0, cut + POSITION_MARK.length - 2),
              tail: payload.slice(cut + POSITION_MARK.length - 1),
              headers: JSON.stringify(headersOf(r))
            }
          }),
          ...(payment === undefined
            ? {}
            : {
                payment_id: payment.id,
                merchant_id: payment.merchantId,
                customer_id: payment.customer.id,
                status: payment.status,
                currency: payment.amount.currency,
                amount: payment.amount.amount.toString(),
                awaiting_reconciliation: awaitsReconciliation(payment),
                version: payment.version,
                created_at: iso(payment.createdAt.epochMillis),
                updated_at: iso(payment.updatedAt.epochMillis),
                snapshot: encodePayment(payment),
                // refunds rows only when a refund event is appended; they reference the payments row
                ...(events.some((e) => e._tag.startsWith("Refund"))
                  ? {
                      refunds: payment.refunds.map((r) => ({
                        id: r.id,
                        amount: r.amount.toString(),
                        status: r.status,
                        created_at: iso(r.requestedAt.epochMillis),
                        updated_at: iso(r.updatedAt.epochMillis)
                      }))
                    }
                  : {})
              })
        }
        const row = yield* write(w).pipe(
          Effect.catchTag("SqlError", (e) =>
            isUniqueViolation(e)
              ? Effect.flatMap(currentVersion(streamId), (actual) =>
                  conflict(streamId, expectedVersion, actual)
                )
              : Effect.fail(persistence("append")(e))
          )
        )
        if (row.positions === null) {
          states.delete(streamId)
          return yield* conflict(streamId, expectedVersion, row.actual)
        }
        const positions = row.positions.split(",")
        remember(streamId, expectedVersion + events.length, after)
        return recorded.map(
          (r, i) => new EventStore.RecordedEvent({ ...r, globalPosition: BigInt(positions[i]!) }, true)
        )
      }).pipe(
        Effect.withSpan("SqlEventStore.append", {
          attributes: { streamId, expectedVersion },
          captureStackTrace: false
        })
      )

    const eventStore = EventStore.EventStore.of({
      append,
      read: (streamId, range) =>
        sql`SELECT ${sql.literal(eventColumns)} FROM events WHERE stream_id = ${streamId}
            AND version >= ${range?.fromVersion ?? 1} AND version <= ${range?.toVersion ?? 2147483647} ORDER BY version`.pipe(
          Effect.map(rowsOf),
          Effect.mapError(persistence("read"))
        ),
      readAll: ({ after, limit }) =>
        sql`SELECT ${sql.literal(eventColumns)} FROM events WHERE global_position > ${after.toString()}::bigint
            ORDER BY global_position LIMIT ${limit}`.pipe(
          Effect.map(rowsOf),
          Effect.mapError(persistence("readAll"))
        )
    })

    const snapshots = (rows: ReadonlyArray<{ readonly snapshot: string }>) =>
      rows.map((r) => Schema.decodeSync(PaymentJson)(r.snapshot))

    const readModel = PaymentReadModel.PaymentReadModel.of({
      get: (merchantId, paymentId) =>
        sql<{
          readonly snapshot: string
        }>`SELECT snapshot::text AS snapshot FROM payments WHERE id = ${paymentId} AND merchant_id = ${merchantId}`.pipe(
          Effect.map((rows) => Option.fromNullable(snapshots(rows)[0])),
          Effect.mapError(persistence("get"))
        ),
      list: (merchantId, query) =>
        Effect.gen(function* () {
          const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
          if (query.cursor !== undefined && after === undefined)
            return yield* new PaymentReadModel.InvalidCursor()
          const rows = yield* sql<{ readonly snapshot: string }>`
            SELECT snapshot::text AS snapshot FROM payments
            WHERE merchant_id = ${merchantId}
              ${query.customerId !== undefined ? sql`AND customer_id = ${query.customerId}` : sql``}
              ${query.status !== undefined ? sql`AND status = ${query.status}` : sql``}
              ${after !== undefined ? sql`AND (created_at, id) < (${iso(after.at)}::timestamptz, ${after.id})` : sql``}
            ORDER BY created_at DESC, id DESC LIMIT ${query.limit + 1}`.pipe(
            Effect.mapError(persistence("list"))
          )
          const all = snapshots(rows)
          const data = all.slice(0, query.limit)
          const last = data[data.length - 1]
          return {
            data,
            nextCursor:
              all.length > query.limit && last !== undefined ? Option.some(encodeCursor(last)) : Option.none()
          }
        }),
      analytics: (merchantId, range) =>
        sql<{
          readonly snapshot: string
        }>`SELECT snapshot::text AS snapshot FROM payments WHERE merchant_id = ${merchantId}
            AND created_at >= ${range.from.toISOString()}::timestamptz AND created_at < ${range.to.toISOString()}::timestamptz`.pipe(
          Effect.map((rows) => analytics(snapshots(rows), range.from, range.to)),
          Effect.mapError(persistence("analytics"))
        ),
      awaitingReconciliation: ({ limit, updatedBefore }) =>
        sql<{
          readonly snapshot: string
        }>`SELECT snapshot::text AS snapshot FROM payments WHERE awaiting_reconciliation
            AND updated_at <= ${updatedBefore.toISOString()}::timestamptz ORDER BY updated_at LIMIT ${limit}`.pipe(
          Effect.map(snapshots),
          Effect.mapError(persistence("awaitingReconciliation"))
        )
    })

    const idempotency = IdempotencyStore.IdempotencyStore.of({
      // One statement: the upsert takes the key only if it is free (absent, expired, or in flight
      // with the same request past its lease); on a taken key ON CONFLICT locks the row and checks
      // its latest version, so two claimers never both get New. Otherwise the row as the statement
      // saw it answers: another request (Mismatch), a stored response (Completed), or InFlight. A key
      // that was free (or absent) in that snapshot but not taken was taken by a racing claimer after
      // it: InFlight, never the expired response the snapshot still shows.
      claim: (c) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const rows = yield* sql<{
            readonly taken: number
            readonly request_hash: string | null
            readonly response: string | null
            readonly locked_ms: number | null
            readonly free: boolean | null
          }>`
            WITH prior AS (
              SELECT request_hash, response::text AS response, (extract(epoch from locked_at) * 1000)::float8 AS locked_ms,
                expires_at <= ${iso(now)}::timestamptz OR (request_hash = ${c.requestHash} AND response IS NULL
                  AND locked_at <= ${iso(now - lease)}::timestamptz) AS free
              FROM idempotency_keys WHERE merchant_id = ${c.merchantId} AND key = ${c.key}
            ), taken AS (
              INSERT INTO idempotency_keys (merchant_id, key, request_hash, status, response, locked_at, expires_at)
              VALUES (${c.merchantId}, ${c.key}, ${c.requestHash}, 'in_flight', NULL, ${iso(now)}::timestamptz, ${iso(now + ttl)}::timestamptz)
              ON CONFLICT (merchant_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = 'in_flight',
                response = NULL, locked_at = excluded.locked_at, expires_at = excluded.expires_at
              WHERE idempotency_keys.expires_at <= excluded.locked_at
                OR (idempotency_keys.request_hash = excluded.request_hash AND idempotency_keys.response IS NULL
                  AND idempotency_keys.locked_at <= ${iso(now - lease)}::timestamptz)
              RETURNING 1
            )
            SELECT (SELECT count(*) FROM taken)::int AS taken, prior.request_hash, prior.response, prior.locked_ms, prior.free
            FROM (SELECT 1) AS one LEFT JOIN prior ON true`
          const row = rows[0]
          if (row !== undefined && row.taken > 0) return { _tag: "New" } as const
          // no row in the snapshot, or a free one we did not get: a racing claimer took it first
          if (row === undefined || row.request_hash === null || row.locked_ms === null || row.free === true)
            return { _tag: "InFlight", lockedAt: new Date(now) } as const
          if (row.request_hash !== c.requestHash) return { _tag: "Mismatch" } as const
          if (row.response !== null) {
            return { _tag: "Completed", response: Schema.decodeSync(ResponseJson)(row.response) } as const
          }
          return { _tag: "InFlight", lockedAt: new Date(row.locked_ms) } as const
        }).pipe(Effect.mapError(persistence("claim"))),
      complete: (c, response) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) =>
            sql`UPDATE idempotency_keys SET status = 'completed', response = ${Schema.encodeSync(ResponseJson)(response)}::jsonb,
              expires_at = ${iso(now + ttl)}::timestamptz
              WHERE merchant_id = ${c.merchantId} AND key = ${c.key} AND request_hash = ${c.requestHash}`
        ).pipe(Effect.asVoid, Effect.mapError(persistence("complete"))),
      release: (c) =>
        sql`DELETE FROM idempotency_keys WHERE merchant_id = ${c.merchantId} AND key = ${c.key}
            AND request_hash = ${c.requestHash} AND response IS NULL`.pipe(
          Effect.asVoid,
          Effect.mapError(persistence("release"))
        )
    })

    const outbox = Outbox.Outbox.of({
      backlog: sql<{ readonly pending: number; readonly dead: number; readonly oldest: number | null }>`
        SELECT count(*) FILTER (WHERE published_at IS NULL AND NOT dead_lettered)::int AS pending,
               count(*) FILTER (WHERE dead_lettered)::int AS dead,
               (extract(epoch from (now() - min(created_at) FILTER (WHERE published_at IS NULL AND NOT dead_lettered))) * 1000)::float8 AS oldest
        FROM outbox`.pipe(
        Effect.map((rows) => ({
          pending: rows[0]?.pending ?? 0,
          deadLettered: rows[0]?.dead ?? 0,
          oldestPendingAgeMillis: Math.max(0, rows[0]?.oldest ?? 0)
        })),
        Effect.mapError(persistence("backlog"))
      ),
      deadLetters: (limit) =>
        sql<{
          readonly payload: string
          readonly headers: string
          readonly attempts: number
          readonly topic: string
        }>`
          SELECT payload, headers::text AS headers, attempts, topic FROM outbox WHERE dead_lettered ORDER BY id LIMIT ${limit}`.pipe(
          Effect.map((rows) =>
            rows.map((r) => {
              const recorded = Schema.decodeSync(RecordedJson)(r.payload)
              return new Outbox.OutboxMessage({
                eventId: recorded.eventId,
                streamId: recorded.streamId,
                version: recorded.version,
                topic: r.topic,
                payload: r.payload,
                headers: JSON.parse(r.headers) as Record<string, string>,
                attempts: r.attempts
              })
            })
          ),
          Effect.mapError(persistence("deadLetters"))
        ),
      redeliver: (eventId) =>
        sql`UPDATE outbox SET dead_lettered = false, attempts = 0, available_at = now() WHERE event_id = ${eventId}`.pipe(
          Effect.asVoid,
          Effect.mapError(persistence("redeliver"))
        )
    })

    return { eventStore, readModel, idempotency, outbox }
  })

/**
 * The SQL stores over whatever `SqlClient` is provided (run `Migrations.run` first).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Partial<IdempotencyStore.Options> = {}) =>
  Layer.scopedContext(
    Effect.map(make(options), (s) =>
      Context.make(EventStore.EventStore, s.eventStore).pipe(
        Context.add(PaymentReadModel.PaymentReadModel, s.readModel),
        Context.add(IdempotencyStore.IdempotencyStore, s.idempotency),
        Context.add(Outbox.Outbox, s.outbox)
      )
    )
  )
