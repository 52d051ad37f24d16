/**
 * A local stand-in for a PSP's HTTP API, shared by the adapter suites (Adyen, Razorpay, PayPal,
 * Braintree): a plain `node:http` server on 127.0.0.1 (port 0) that records every request and
 * answers with what the suite's handler says, or never answers ("hang") so that timeouts can be
 * tested. Also the few helpers those suites share to build a card payment, to name its attempt and
 * to check its outcomes and failures.
 */
import { type Card, Currency, Customer, type Gateway, type Ids, Money } from "@aegispay/core"
import { assert } from "@effect/vitest"
import { Effect, Either, type Scope } from "effect"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

/** One request as the stand-in received it: method, path with query, headers and the raw body. */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/**
 * A reply: the status, the headers exactly as given (nothing is added), and the body: a string is
 * sent as it is, any other value as JSON, none sends an empty body.
 */
export interface StandInReply {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

/** What the handler makes the stand-in do: reply, or keep the request open without an answer. */
export type StandInAnswer = StandInReply | "hang"

/** A running stand-in: its base URL (no trailing slash) and every request so far, in order. */
export interface StandIn {
  readonly url: string
  readonly requests: ReadonlyArray<RecordedRequest>
}

/**
 * Starts a stand-in in the current scope. `handler` sees each request once it is fully read and
 * recorded, with `n` counting requests from 1. Closing the scope drops every open connection (a
 * hanging one too) and waits until the server is closed.
 */
export const localStandIn = (
  handler: (request: RecordedRequest, n: number) => StandInAnswer
): Effect.Effect<StandIn, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<StandIn & { readonly close: Effect.Effect<void> }>((resume) => {
      const requests: Array<RecordedRequest> = []
      const server = createServer((req, res) => {
        let body = ""
        req.setEncoding("utf8")
        req.on("data", (chunk: string) => {
          body += chunk
        })
        req.on("end", () => {
          const recorded: RecordedRequest = {
            method: req.method ?? "",
            path: req.url ?? "",
            headers: req.headers,
            body
          }
          requests.push(recorded)
          const answer = handler(recorded, requests.length)
          if (answer === "hang") return
          res.writeHead(answer.status, answer.headers ?? {})
          res.end(
            answer.body === undefined
              ? undefined
              : typeof answer.body === "string"
                ? answer.body
                : JSON.stringify(answer.body)
          )
        })
      })
      const close = Effect.async<void>((done) => {
        server.closeAllConnections()
        server.close(() => done(Effect.void))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, requests, close }))
      })
    }),
    ({ close }) => close
  ).pipe(Effect.map(({ requests, url }): StandIn => ({ url, requests })))

/**
 * A JSON reply as most PSPs send it: `content-type` first (the reply's own headers may override
 * it), and a body that is sent as it is when a string and as JSON otherwise, `{}` when there is none.
 * "hang" stays "hang".
 */
export const jsonReply = (answer: StandInAnswer, contentType = "application/json"): StandInAnswer =>
  answer === "hang"
    ? answer
    : {
        status: answer.status,
        headers: { "content-type": contentType, ...answer.headers },
        body: answer.body ?? {}
      }

/** The attempt key of attempt `n` of a payment, as the orchestrator sends it to a gateway. */
export const attemptKey = (n: number) =>
  `pay_01J9Z8X6Q2M4T7V3B5N8R1K${String(n).padStart(3, "0")}:1` as Ids.AttemptKey

/** An amount in US cents. */
export const usd = (amount: bigint) => Money.make(amount, Currency.make("USD"))

/** A card payment of USD 20.00 by customer `cus_1`, without metadata, as attempt `n`. */
export const usdCardPayment = (
  n: number,
  card: Card.CardDetails,
  captureMethod: Gateway.AuthorizeRequest["captureMethod"]
): Gateway.AuthorizeRequest => ({
  idempotencyKey: attemptKey(n),
  amount: usd(2_000n),
  captureMethod,
  paymentMethod: { _tag: "Card", card },
  customer: new Customer.Customer({ id: "cus_1" as Ids.CustomerId }),
  metadata: {}
})

/** An outcome as `Tag:code` for a failure (e.g. `HardDecline:card_expired`), `success` otherwise. */
export const failureOf = <A>(r: Either.Either<A, { readonly _tag: string; readonly code: string }>) =>
  Either.isLeft(r) ? `${r.left._tag}:${r.left.code}` : "success"

/**
 * Asserts that none of `secrets` shows in any of `errors`: not in an error's message, its JSON or
 * its string form.
 */
export const assertNoSecretIn = (errors: ReadonlyArray<unknown>, secrets: ReadonlyArray<string>) => {
  for (const e of errors) {
    const text = `${e instanceof Error ? e.message : ""} ${JSON.stringify(e)} ${String(e)}`
    for (const secret of secrets) assert.notInclude(text, secret)
  }
}

/**
 * Authorizes attempt `first + i` with the i-th card number of `outcomes` and asserts its outcome
 * (as `failureOf` names it); `inspect` sees each failure with its row. Returns the failures, in order.
 */
export const assertCardOutcomes = <E extends { readonly _tag: string; readonly code: string }>(
  authorize: (n: number, cardNumber: string) => Effect.Effect<unknown, E>,
  first: number,
  outcomes: ReadonlyArray<readonly [cardNumber: string, expected: string]>,
  inspect: (failure: E, i: number) => void
): Effect.Effect<Array<E>> =>
  Effect.gen(function* () {
    const failures: Array<E> = []
    for (const [i, [cardNumber, expected]] of outcomes.entries()) {
      const r = yield* Effect.either(authorize(first + i, cardNumber))
      assert.strictEqual(failureOf(r), expected, cardNumber)
      if (Either.isLeft(r)) {
        inspect(r.left, i)
        failures.push(r.left)
      }
    }
    return failures
  })

/** Asserts that a lookup found the payment, with this status, amount captured and amount refunded. */
export const assertFoundPayment = (
  lookup: Gateway.AttemptLookup,
  expected: readonly [status: string, captured: bigint, refunded: bigint]
) => {
  assert.strictEqual(lookup._tag, "Found")
  if (lookup._tag === "Found") {
    assert.deepStrictEqual(
      [lookup.payment.status, lookup.payment.amountCaptured, lookup.payment.amountRefunded],
      [...expected]
    )
  }
}

/** Runs `effect`, asserts its outcome (as `failureOf` names it) and returns it as an Either. */
export const assertOutcome = <A, E extends { readonly _tag: string; readonly code: string }, R>(
  effect: Effect.Effect<A, E, R>,
  expected: string
): Effect.Effect<Either.Either<A, E>, never, R> =>
  Effect.gen(function* () {
    const r = yield* Effect.either(effect)
    assert.strictEqual(failureOf(r), expected)
    return r
  })
