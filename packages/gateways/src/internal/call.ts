import { GatewayError, type Ids } from "@aegispay/core"
import { type HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Clock, Duration, Effect, Option, Schema } from "effect"
import { commonOf } from "./errorFields.js"

/** What came back: a status, the PSP's request id, and the body, or why there is none. */
export interface Reply {
  readonly status: number
  readonly requestId: string | undefined
  readonly retryAfter: Option.Option<Duration.Duration>
  readonly body: Option.Option<unknown>
}

const retryAfterOf = (
  response: HttpClientResponse.HttpClientResponse,
  now: number
): Option.Option<Duration.Duration> => {
  const raw = response.headers["retry-after"]
  if (raw === undefined) return Option.none()
  const seconds = Number(raw)
  if (Number.isFinite(seconds) && seconds >= 0) return Option.some(Duration.seconds(seconds))
  const at = Date.parse(raw)
  return Number.isNaN(at) ? Option.none() : Option.some(Duration.millis(Math.max(0, at - now)))
}

const refused = (cause: unknown): boolean =>
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(String((cause as { cause?: unknown })?.cause ?? cause))

/**
 * Sends one request with a timeout. Never fails with anything but the taxonomy: a connection
 * refused before sending is `Retryable`; a timeout, a reset or anything else once the request may
 * have left is `Ambiguous`. Error messages carry no header values (so no secret).
 */
export const send = (
  client: HttpClient.HttpClient,
  gateway: Ids.GatewayId,
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.DurationInput,
  requestIdHeader: string
): Effect.Effect<Reply, GatewayError.Retryable | GatewayError.Ambiguous> =>
  client.execute(request).pipe(
    Effect.flatMap((response) =>
      Effect.zip(response.text, Clock.currentTimeMillis).pipe(
        Effect.map(([text, now]): Reply => {
          let body: Option.Option<unknown>
          try {
            body = text.length > 0 ? Option.some(JSON.parse(text) as unknown) : Option.none()
          } catch {
            body = Option.none()
          }
          return {
            status: response.status,
            requestId: response.headers[requestIdHeader.toLowerCase()],
            retryAfter: retryAfterOf(response, now),
            body
          }
        })
      )
    ),
    Effect.scoped,
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new GatewayError.Ambiguous({
          gateway,
          code: "timeout",
          detail: `no answer within ${Duration.format(Duration.decode(timeout))}`
        })
    }),
    Effect.catchTag("RequestError", (e) =>
      Effect.fail(
        refused(e.cause)
          ? new GatewayError.Retryable({
              gateway,
              code: "connection_refused",
              detail: "the PSP refused the connection; nothing was sent"
            })
          : new GatewayError.Ambiguous({
              gateway,
              code: "transport_error",
              detail: "the connection failed after the request may have been sent"
            })
      )
    ),
    Effect.catchTag("ResponseError", () =>
      Effect.fail(
        new GatewayError.Ambiguous({
          gateway,
          code: "unreadable_response",
          detail: "the response body could not be read"
        })
      )
    ),
    Effect.withSpan("Gateway.http", {
      captureStackTrace: false,
      attributes: { gateway, method: request.method, url: request.url.replace(/\?.*$/, "") }
    })
  )

export { HttpClientRequest }

/**
 * A 2xx body decoded with `schema`; a body that does not decode is `Ambiguous`
 * (`unparseable_success`): the PSP said yes to something, so it may have acted.
 */
export const decodeSuccess = <A, I>(
  psp: string,
  gateway: Ids.GatewayId,
  reply: Reply,
  schema: Schema.Schema<A, I>
): Effect.Effect<A, GatewayError.Ambiguous> =>
  Option.match(Option.flatMap(reply.body, Schema.decodeUnknownOption(schema)), {
    onNone: () =>
      Effect.fail(
        new GatewayError.Ambiguous({
          ...commonOf(gateway, reply.status, reply.requestId),
          code: "unparseable_success",
          detail: `${psp} answered 2xx with a body that is not the expected object`
        })
      ),
    onSome: Effect.succeed
  })
