/**
 * The in-process event bus: a `Publisher` for the outbox relay, with subscribers by event type.
 * Delivery is at least once (the relay retries), so subscribers deduplicate by `eventId`.
 *
 * @since 0.1.0
 */
import { Outbox } from "@aegispay/core"
import { Context, Effect, Layer, PubSub, type Scope, Stream } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Messages of the given event types (all when none given), from now on, for the scope's life. */
  readonly subscribe: (
    ...types: ReadonlyArray<string>
  ) => Effect.Effect<Stream.Stream<Outbox.OutboxMessage>, never, Scope.Scope>
  readonly publisher: Outbox.Publisher["Type"]
}

/**
 * @since 0.1.0
 * @category tags
 */
export class EventBus extends Context.Tag("@aegispay/infra/EventBus")<EventBus, Service>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function* () {
  const hub = yield* Effect.acquireRelease(PubSub.unbounded<Outbox.OutboxMessage>(), PubSub.shutdown)
  return EventBus.of({
    subscribe: (...types) =>
      Effect.map(Stream.fromPubSub(hub, { scoped: true }), (stream) =>
        types.length === 0
          ? stream
          : Stream.filter(stream, (m) => types.some((t) => m.topic === `payments.${t}` || m.topic === t))
      ),
    publisher: { name: "in-process", publish: (message) => Effect.asVoid(PubSub.publish(hub, message)) }
  })
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EventBus> = Layer.scoped(EventBus, make)
