/**
 * The NATS JetStream publisher for the outbox relay. Each message is published to
 * `<prefix>.<topic>` with the event id as JetStream's message id, so the broker drops the copy a
 * relay sends again after dying between publish and mark (within the stream's duplicate window).
 * Headers carry the event id, type, correlation id and W3C trace parent.
 *
 * @since 0.1.0
 */
import { Outbox } from "@aegispay/core"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, headers, nanos } from "@nats-io/transport-node"
import { Duration, Effect } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `nats://host:port` (from `NATS_URL`). */
  readonly servers: string
  /** The JetStream stream, created when missing (default `AEGISPAY`). */
  readonly stream?: string
  /** Subject prefix (default `aegispay`). */
  readonly prefix?: string
  /** How long the broker remembers message ids (default 2 minutes). */
  readonly duplicateWindow?: Duration.DurationInput
}

const fail = (reason: string) => (cause: unknown) =>
  new Outbox.PublishError({ publisher: "jetstream", reason, cause })

/**
 * Connects (for the life of the scope), makes sure the stream exists, and returns the publisher
 * and a way to read the stream's message count (for operators and tests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const stream = options.stream ?? "AEGISPAY"
    const prefix = options.prefix ?? "aegispay"
    const nc = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => connect({ servers: options.servers }),
        catch: fail("cannot connect to NATS")
      }),
      (nc) => Effect.promise(() => nc.drain()).pipe(Effect.ignore)
    )
    const jsm = yield* Effect.tryPromise({
      try: () => jetstreamManager(nc),
      catch: fail("JetStream is not available")
    })
    yield* Effect.tryPromise({
      try: async () => {
        try {
          await jsm.streams.info(stream)
        } catch {
          await jsm.streams.add({
            name: stream,
            subjects: [`${prefix}.>`],
            duplicate_window: nanos(
              Duration.toMillis(Duration.decode(options.duplicateWindow ?? "2 minutes"))
            )
          })
        }
      },
      catch: fail("cannot create the JetStream stream")
    })
    const js = jetstream(nc)
    const publisher: Outbox.Publisher["Type"] = {
      name: "jetstream",
      publish: (message) =>
        Effect.tryPromise({
          try: () => {
            const h = headers()
            for (const [k, v] of Object.entries(message.headers)) h.set(k, v)
            return js.publish(`${prefix}.${message.topic}`, message.payload, {
              msgID: message.eventId,
              headers: h
            })
          },
          catch: fail("publish failed")
        }).pipe(
          Effect.asVoid,
          Effect.withSpan("JetStream.publish", {
            attributes: { eventId: message.eventId, topic: message.topic }
          })
        )
    }
    const messages = Effect.tryPromise({
      try: async () => (await jsm.streams.info(stream)).state.messages,
      catch: fail("cannot read the stream")
    })
    /** Deletes the stream and its messages (for test suites and operators). */
    const deleteStream = Effect.tryPromise({
      try: () => jsm.streams.delete(stream),
      catch: fail("cannot delete the stream")
    })
    return { publisher, messages, deleteStream }
  })
