import { Outbox } from "@aegispay/core"
import { Effect } from "effect"

/**
 * One publisher over several, in order: a message is published when every one of them took it.
 * If one fails, the relay retries the whole message later, so the ones before it may see it twice:
 * delivery is at least once and consumers deduplicate by event id.
 */
export const fanOut = (publishers: ReadonlyArray<Outbox.Publisher["Type"]>): Outbox.Publisher["Type"] =>
  publishers.length === 1
    ? publishers[0]!
    : {
        name: publishers.map((p) => p.name).join("+"),
        publish: (message) => Effect.forEach(publishers, (p) => p.publish(message), { discard: true })
      }
