/**
 * The schema, as versioned migrations run on start (one set of SQL for PostgreSQL and PGlite).
 *
 * @since 0.1.0
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Effect } from "effect"

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
    "0003_outbox_pending_by_stream": pendingByStream
  }),
  table: "aegispay_migrations"
})
