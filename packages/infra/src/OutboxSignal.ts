/**
 * Wakes the outbox relay when an append commits, so a message is relayed at once instead of at the
 * next poll. An append notifies its schema's channel (`pg_notify`, delivered on commit); on
 * PostgreSQL the signal is `PgClient.listen` on that channel, on PGlite its `listen`, in memory a
 * `PubSub`. A signal is only a hint: the relay still polls, so a lost notification (a dropped
 * listen connection, a notification sent before the listener started) costs at most one poll
 * interval, never a message.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, Deferred, Duration, Effect, Layer, PubSub, Queue, Random, type Scope, Stream } from "effect"
import { channelSql } from "./internal/channel.js"
import * as PgliteClient from "./PgliteClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Starts listening and returns once listening is in effect: from then on, every append that
   * commits makes the returned effect complete (appends while no one waits coalesce into one wake).
   */
  readonly subscribe: Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class OutboxSignal extends Context.Tag("@aegispay/infra/OutboxSignal")<OutboxSignal, Service>() {}

/** Appends notify this channel (see `internal/channel.ts`); asked from the server, never configured. */
const channelName = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(
    sql<{ readonly channel: string }>`SELECT ${sql.literal(channelSql)} AS channel`,
    (rows) => rows[0]!.channel
  )
)

/** A wake that coalesces: at most one pending, so a burst of appends makes one extra pass. */
const wakeQueue = Effect.map(Queue.sliding<void>(1), (queue) => ({
  wake: () => {
    queue.unsafeOffer(undefined)
  },
  next: Queue.take(queue)
}))

const fallBackToPolling = (e: unknown) =>
  Effect.logWarning("outbox signal unavailable; the relay polls").pipe(
    Effect.annotateLogs({ error: String(e) }),
    Effect.as(Effect.never)
  )

/**
 * On PostgreSQL, through `PgClient.listen` (one dedicated connection). `listen` does not say when
 * LISTEN is in effect, so `subscribe` notifies a probe on the channel until it hears it back.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg: Layer.Layer<OutboxSignal, never, PgClient.PgClient> = Layer.effect(
  OutboxSignal,
  Effect.gen(function* () {
    const pg = yield* PgClient.PgClient
    const subscribe = Effect.gen(function* () {
      const channel = yield* channelName
      const { next, wake } = yield* wakeQueue
      const probe = `listening:${(yield* Random.nextIntBetween(0, Number.MAX_SAFE_INTEGER)).toString(36)}`
      const ready = yield* Deferred.make<void>()
      yield* pg.listen(channel).pipe(
        Stream.runForEach((payload) =>
          payload === probe ? Deferred.succeed(ready, undefined) : Effect.sync(wake)
        ),
        Effect.catchAll((e) =>
          Effect.logWarning("outbox LISTEN failed; the relay polls").pipe(
            Effect.annotateLogs({ error: String(e) })
          )
        ),
        Effect.forkScoped
      )
      yield* pg`SELECT pg_notify(${channel}, ${probe})`.pipe(
        Effect.zipRight(
          Deferred.await(ready).pipe(
            Effect.timeoutFail({ duration: "100 millis", onTimeout: () => "not yet" })
          )
        ),
        Effect.retry({ times: 50 })
      )
      return next
    }).pipe(Effect.provideService(SqlClient.SqlClient, pg), Effect.catchAll(fallBackToPolling))
    return OutboxSignal.of({ subscribe })
  })
)

/**
 * On PGlite, through its `listen` (in effect when it returns).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPglite: Layer.Layer<OutboxSignal, never, PgliteClient.Notifications | SqlClient.SqlClient> =
  Layer.effect(
    OutboxSignal,
    Effect.gen(function* () {
      const notifications = yield* PgliteClient.Notifications
      const sql = yield* SqlClient.SqlClient
      const subscribe = Effect.gen(function* () {
        const channel = yield* channelName
        const { next, wake } = yield* wakeQueue
        yield* notifications.listen(channel, wake)
        return next
      }).pipe(Effect.provideService(SqlClient.SqlClient, sql), Effect.catchAll(fallBackToPolling))
      return OutboxSignal.of({ subscribe })
    })
  )

/**
 * In memory: `wake` is called by the in-memory append after it wrote.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = Effect.map(PubSub.sliding<void>(1), (hub) => ({
  wake: PubSub.publish(hub, undefined),
  signal: OutboxSignal.of({
    subscribe: Effect.map(PubSub.subscribe(hub), (subscription) => Effect.asVoid(subscription.take))
  })
}))

/**
 * Waits for a signal or `pollInterval`, whichever comes first.
 *
 * @since 0.1.0
 * @category combinators
 */
export const waitFor = (next: Effect.Effect<void>, pollInterval: Duration.DurationInput) =>
  Effect.raceFirst(next, Effect.sleep(pollInterval))
