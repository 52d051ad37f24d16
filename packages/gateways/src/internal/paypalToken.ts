import type { GatewayError } from "@aegispay/core"
import { Clock, Duration, Effect, Option, type Redacted, SynchronizedRef } from "effect"

/** An OAuth2 access token and when to stop using it (epoch millis, from `Clock`). */
export interface AccessToken {
  readonly value: Redacted.Redacted<string>
  readonly refreshAt: number
}

/** What the token endpoint answered. */
export interface Issued {
  readonly value: Redacted.Redacted<string>
  readonly expiresIn: Duration.Duration
}

/** A cached access token: `get` fetches only when there is none or it is due for refresh. */
export interface TokenCache {
  readonly get: Effect.Effect<AccessToken, GatewayError.GatewayError>
  /** Drops `stale` (the token a 401 was answered to) unless another fiber already replaced it. */
  readonly invalidate: (stale: AccessToken) => Effect.Effect<void>
}

/**
 * The token lives in a `SynchronizedRef`, so concurrent callers wait for one fetch instead of each
 * fetching their own. It is refreshed `margin` before PayPal says it expires, or at half its
 * lifetime when that is shorter.
 */
export const makeTokenCache = (
  fetch: Effect.Effect<Issued, GatewayError.GatewayError>,
  margin: Duration.DurationInput
): Effect.Effect<TokenCache> =>
  Effect.gen(function* () {
    const ref = yield* SynchronizedRef.make(Option.none<AccessToken>())
    const marginMillis = Duration.toMillis(Duration.decode(margin))

    const get = SynchronizedRef.modifyEffect(ref, (current) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        if (Option.isSome(current) && now < current.value.refreshAt) {
          return [current.value, current] as const
        }
        const issued = yield* fetch
        const lifetime = Duration.toMillis(issued.expiresIn)
        const token: AccessToken = {
          value: issued.value,
          refreshAt: now + Math.max(lifetime - marginMillis, lifetime / 2)
        }
        return [token, Option.some(token)] as const
      })
    )

    const invalidate = (stale: AccessToken) =>
      SynchronizedRef.update(ref, (current) =>
        Option.isSome(current) && current.value === stale ? Option.none() : current
      )

    return { get, invalidate }
  })
