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
import {
  Context,
  Duration,
  Effect,
  Fiber,
  Layer,
  PubSub,
  Queue,
  Random,
  Schedule,
  type Scope,
  Stream
} from "effect"
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

/** How often the PostgreSQL listener checks that it still hears its channel. */
const CHECK_EVERY = Duration.seconds(5)

/**
 * On PostgreSQL, through `PgClient.listen` (one dedicated connection). `listen` does not say when
 * LISTEN is in effect, nor when its connection is gone (a restarted or failed-over server, a killed
 * backend: the stream just falls silent), so the listener notifies a probe on the channel until it
 * hears it back, at the start and then every 5 seconds; a probe not heard means the connection is
 * lost: the listener is started again on a new connection (retried with backoff), and the relay is
 * woken once for what it may have missed. Until then the relay polls.
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
      const heard = yield* Queue.sliding<string>(16)
      /** Notifies a fresh probe until it is heard (`tries` × 100 ms), or fails. */
      const confirm = (tries: number) =>
        Effect.gen(function* () {
          const probe = `listening:${(yield* Random.nextIntBetween(0, Number.MAX_SAFE_INTEGER)).toString(36)}`
          const awaitProbe: Effect.Effect<void> = Effect.flatMap(Queue.take(heard), (p) =>
            p === probe ? Effect.void : awaitProbe
          )
          yield* pg`SELECT pg_notify(${channel}, ${probe})`.pipe(
            Effect.zipRight(
              awaitProbe.pipe(Effect.timeoutFail({ duration: "100 millis", onTimeout: () => "not heard" }))
            ),
            Effect.retry({ times: tries - 1 })
          )
        })
      /** Listens on the channel (a connection of its own) in a fiber; returns it once LISTEN holds. */
      const listen = Effect.gen(function* () {
        const fiber = yield* pg.listen(channel).pipe(
          Stream.runForEach((payload) =>
            payload.startsWith("listening:") ? Queue.offer(heard, payload) : Effect.sync(wake)
          ),
          Effect.catchAll((e) =>
            Effect.logWarning("outbox LISTEN failed").pipe(Effect.annotateLogs({ error: String(e) }))
          ),
          Effect.forkScoped
        )
        yield* confirm(50).pipe(
          Effect.onError(() => Fiber.interrupt(fiber).pipe(Effect.timeout("2 seconds"), Effect.ignore))
        )
        return fiber
      })
      const first = yield* listen
      // every CHECK_EVERY: still hearing the channel? If not, listen again on a new connection
      const watch = (current: Fiber.RuntimeFiber<void>): Effect.Effect<never, never, Scope.Scope> =>
        Effect.sleep(CHECK_EVERY).pipe(
          Effect.zipRight(confirm(10).pipe(Effect.either)),
          Effect.flatMap((checked) =>
            checked._tag === "Right"
              ? watch(current)
              : Effect.logWarning("outbox LISTEN lost; listening again on a new connection").pipe(
                  // the old listener's connection is given back (its finalizer may not finish on a dead socket)
                  Effect.zipRight(Fiber.interrupt(current).pipe(Effect.timeout("2 seconds"), Effect.ignore)),
                  Effect.zipRight(
                    listen.pipe(
                      Effect.tapError((e) =>
                        Effect.logWarning("outbox LISTEN not back yet; the relay polls").pipe(
                          Effect.annotateLogs({ error: String(e) })
                        )
                      ),
                      Effect.retry(
                        Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced(CHECK_EVERY)))
                      ),
                      // retried for ever: cannot fail
                      Effect.orDie
                    )
                  ),
                  Effect.tap(() =>
                    Effect.logInfo("outbox LISTEN back").pipe(Effect.zipRight(Effect.sync(wake)))
                  ),
                  Effect.flatMap(watch)
                )
          )
        )
      yield* Effect.forkScoped(watch(first))
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
