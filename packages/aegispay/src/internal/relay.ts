import type { Outbox } from "@aegispay/core"
import { EventBus, JetStream, Memory, Relay } from "@aegispay/infra"
import { Effect, Layer, Schedule } from "effect"
import * as Metrics from "../Metrics.js"
import { fanOut } from "./fanOut.js"

export interface NatsOptions {
  readonly servers: string
  readonly stream?: string | undefined
  readonly prefix?: string | undefined
}

/** The publishers: the in-process bus, and JetStream when configured. */
const publishers = (nats: NatsOptions | undefined) =>
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    const all: Array<Outbox.Publisher["Type"]> = [bus.publisher]
    if (nats !== undefined) {
      const jetstream = yield* JetStream.make({
        servers: nats.servers,
        ...(nats.stream !== undefined ? { stream: nats.stream } : {}),
        ...(nats.prefix !== undefined ? { prefix: nats.prefix } : {})
      })
      all.push(jetstream.publisher)
    }
    return Metrics.measuredPublisher(fanOut(all))
  })

/** The SQL relay (SKIP LOCKED claims, NOTIFY wake-up) running for the life of the Layer. */
export const sql = (nats: NatsOptions | undefined, options: Relay.Options) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const worker = yield* Relay.make(yield* publishers(nats), options)
      yield* Effect.forkScoped(worker.run)
      yield* Effect.forkScoped(Metrics.sampleOutboxBacklog("5 seconds"))
    })
  ).pipe(Layer.provideMerge(EventBus.layer))

/** The in-memory outbox's relay passes, every `pollInterval`, for the life of the Layer. */
export const memory = (nats: NatsOptions | undefined, options: Relay.Options) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const publisher = yield* publishers(nats)
      const db = yield* Memory.MemoryDatabase
      yield* Effect.forkScoped(
        db
          .relayOnce(publisher, {
            ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
            ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
            ...(options.backoff !== undefined ? { backoff: options.backoff } : {})
          })
          .pipe(Effect.repeat(Schedule.spaced(options.pollInterval ?? "100 millis")))
      )
      yield* Effect.forkScoped(Metrics.sampleOutboxBacklog("5 seconds"))
    })
  ).pipe(Layer.provideMerge(EventBus.layer))
