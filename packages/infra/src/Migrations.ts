/**
 * The schema, as versioned migrations run on start (one set of SQL for PostgreSQL and PGlite).
 *
 * @since 0.1.0
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { channelSql } from "./internal/channel.js"

const init = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql`
    CREATE TABLE IF NOT EXISTS events (
      global_position bigserial PRIMARY KEY,
      event_id text NOT NULL UNIQUE,
      stream_id text NOT NULL,
      version integer NOT NULL,
      type text NOT NULL,
      data jsonb NOT NULL,
      metadata jsonb NOT NULL,
      recorded_at timestamptz NOT NULL,
      UNIQUE (stream_id, version)
    );
    CREATE TABLE IF NOT EXISTS payments (
      id text PRIMARY KEY,
      merchant_id text NOT NULL,
      customer_id text NOT NULL,
      status text NOT NULL,
      currency text NOT NULL,
      amount numeric(30, 0) NOT NULL,
      awaiting_reconciliation boolean NOT NULL,
      version integer NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      snapshot jsonb NOT NULL
    );
    CREATE INDEX IF NOT EXISTS payments_by_customer ON payments (merchant_id, customer_id, created_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS payments_by_merchant ON payments (merchant_id, created_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS payments_awaiting ON payments (updated_at) WHERE awaiting_reconciliation;
    CREATE TABLE IF NOT EXISTS refunds (
      id text PRIMARY KEY,
      payment_id text NOT NULL REFERENCES payments (id),
      amount numeric(30, 0) NOT NULL,
      status text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE TABLE IF NOT EXISTS idempotency_keys (
      merchant_id text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      status text NOT NULL,
      response jsonb,
      locked_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (merchant_id, key)
    );
    CREATE TABLE IF NOT EXISTS outbox (
      id bigserial PRIMARY KEY,
      stream_id text NOT NULL,
      event_id text NOT NULL UNIQUE REFERENCES events (event_id),
      topic text NOT NULL,
      payload text NOT NULL,
      headers jsonb NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      available_at timestamptz NOT NULL,
      published_at timestamptz,
      dead_lettered boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE published_at IS NULL AND NOT dead_lettered;
  `.unprepared
)

const claims = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_until timestamptz`.unprepared
)

// the relay claims only the oldest unpublished message of each stream: this index answers
// "is there an older one?" per candidate without scanning every pending message
const pendingByStream = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql`CREATE INDEX IF NOT EXISTS outbox_pending_by_stream ON outbox (stream_id, id)
      WHERE published_at IS NULL AND NOT dead_lettered`.unprepared
)

// The append as a function: its statements' plans are prepared once per session and reused, where
// the same statements sent as one query text are parsed and planned on every append. It checks the
// stream is at the expected version (otherwise returns that version and no positions), inserts the
// events and one outbox row each (payload = head || global position || tail) in version order,
// upserts the `payments` row and the `refunds` rows when given, notifies the relay, and returns the
// events' global positions in version order. A racing writer meets the unique (stream_id, version)
// on the events first (23505), so two appends never wait on each other in a lock cycle.
const appendFunction = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql.unsafe(`
    CREATE OR REPLACE FUNCTION aegispay_append(
      p_stream_id text, p_expected_version integer, p_at timestamptz, p_metadata jsonb, p_events json, p_outbox json,
      p_payment_id text, p_merchant_id text, p_customer_id text, p_status text, p_currency text, p_amount numeric,
      p_awaiting_reconciliation boolean, p_version integer, p_created_at timestamptz, p_updated_at timestamptz,
      p_snapshot jsonb, p_refunds json
    ) RETURNS TABLE (actual integer, positions text) LANGUAGE plpgsql AS $append$
    DECLARE
      written text;
    BEGIN
      IF p_expected_version <> 0 AND NOT EXISTS (
        SELECT 1 FROM events e WHERE e.stream_id = p_stream_id AND e.version = p_expected_version
      ) THEN
        RETURN QUERY SELECT coalesce(max(e.version), 0)::integer, NULL::text FROM events e WHERE e.stream_id = p_stream_id;
        RETURN;
      END IF;
      WITH ev AS (
        INSERT INTO events (event_id, stream_id, version, type, data, metadata, recorded_at)
        SELECT x.event_id, p_stream_id, x.version, x.type, x.data::jsonb, p_metadata, p_at
        FROM json_to_recordset(p_events) AS x(event_id text, version integer, type text, data text)
        ORDER BY x.version
        RETURNING event_id, version, global_position
      ), ob AS (
        INSERT INTO outbox (stream_id, event_id, topic, payload, headers, available_at, created_at)
        SELECT p_stream_id, ev.event_id, o.topic, o.head || ev.global_position::text || o.tail, o.headers::jsonb, p_at, p_at
        FROM ev JOIN json_to_recordset(p_outbox) AS o(event_id text, topic text, head text, tail text, headers text)
          ON o.event_id = ev.event_id
        ORDER BY ev.version
      )
      SELECT string_agg(ev.global_position::text, ',' ORDER BY ev.version) INTO written FROM ev;
      IF p_payment_id IS NOT NULL THEN
        INSERT INTO payments (id, merchant_id, customer_id, status, currency, amount, awaiting_reconciliation,
          version, created_at, updated_at, snapshot)
        VALUES (p_payment_id, p_merchant_id, p_customer_id, p_status, p_currency, p_amount, p_awaiting_reconciliation,
          p_version, p_created_at, p_updated_at, p_snapshot)
        ON CONFLICT (id) DO UPDATE SET status = excluded.status, awaiting_reconciliation = excluded.awaiting_reconciliation,
          version = excluded.version, updated_at = excluded.updated_at, snapshot = excluded.snapshot;
        IF p_refunds IS NOT NULL THEN
          INSERT INTO refunds (id, payment_id, amount, status, created_at, updated_at)
          SELECT r.id, p_payment_id, r.amount::numeric, r.status, r.created_at::timestamptz, r.updated_at::timestamptz
          FROM json_to_recordset(p_refunds) AS r(id text, amount text, status text, created_at text, updated_at text)
          ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at;
        END IF;
      END IF;
      PERFORM pg_notify(${channelSql}, p_stream_id);
      RETURN QUERY SELECT p_expected_version, written;
    END
    $append$;
  `).unprepared
)

// Group commit: several appends (to different streams, or racing on one) in one call and one
// transaction, so one round trip and one durable commit serve them all. Each append runs
// `aegispay_append` in a block of its own (a subtransaction): an append meeting a concurrent
// writer on the unique (stream_id, version) is rolled back alone and answers its stream's version,
// while the others still commit. Appends run in stream id order, so two batches touching the same
// streams take their row locks in one order and never deadlock. Absent keys read as NULL.
const appendBatchFunction = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql.unsafe(`
    CREATE OR REPLACE FUNCTION aegispay_append_batch(p_appends json)
    RETURNS TABLE (idx integer, actual integer, positions text) LANGUAGE plpgsql AS $batch$
    DECLARE
      a record;
      written record;
    BEGIN
      FOR a IN
        SELECT (x.n - 1)::integer AS i, x.v FROM json_array_elements(p_appends) WITH ORDINALITY AS x(v, n)
        ORDER BY x.v->>'stream_id', x.n
      LOOP
        idx := a.i;
        BEGIN
          SELECT f.actual, f.positions INTO written FROM aegispay_append(
            a.v->>'stream_id', (a.v->>'expected_version')::integer, (a.v->>'at')::timestamptz,
            (a.v->'metadata')::jsonb, a.v->'events', a.v->'outbox', a.v->>'payment_id', a.v->>'merchant_id',
            a.v->>'customer_id', a.v->>'status', a.v->>'currency', (a.v->>'amount')::numeric,
            (a.v->>'awaiting_reconciliation')::boolean, (a.v->>'version')::integer,
            (a.v->>'created_at')::timestamptz, (a.v->>'updated_at')::timestamptz, (a.v->'snapshot')::jsonb,
            a.v->'refunds') AS f;
          actual := written.actual;
          positions := written.positions;
        EXCEPTION WHEN unique_violation THEN
          SELECT coalesce(max(e.version), 0)::integer INTO actual FROM events e WHERE e.stream_id = a.v->>'stream_id';
          positions := NULL;
        END;
        RETURN NEXT;
      END LOOP;
    END
    $batch$;
  `).unprepared
)

/**
 * Runs the migrations not yet applied (recorded in `aegispay_migrations`).
 *
 * @since 0.1.0
 * @category migrations
 */
export const run = Migrator.make({})({
  loader: Migrator.fromRecord({
    "0001_init": init,
    "0002_outbox_claims": claims,
    "0003_outbox_pending_by_stream": pendingByStream,
    "0004_append_function": appendFunction,
    "0005_append_batch_function": appendBatchFunction
  }),
  table: "aegispay_migrations"
})
