/**
 * What every demo here shares: simulated PSP accounts in-process (Stripe wire format), the real
 * Stripe adapter pointed at them, in-memory stores, and the orchestrator composed over them.
 */
import { Card, Currency, Customer, Fee, Gateway, Ids, Money } from "@aegispay/core"
import { Stripe } from "@aegispay/gateways"
import { Memory } from "@aegispay/infra"
import { Simulator } from "@aegispay/simulator"
import { FetchHttpClient } from "@effect/platform"
import { AegisPay, GatewayGuard, type Hooks, type PaymentService, type Routing } from "aegispay"
import { Context, Effect, Layer, Logger, LogLevel, Redacted, Schema, type Scope } from "effect"
import { createServer } from "node:net"

export interface Account {
  readonly id: string
  readonly fees?: { readonly bps: number; readonly fixed: bigint }
  readonly latencyMs?: { readonly p50: number; readonly p99: number }
  /** A PSP that is down: nothing listens at its address. */
  readonly offline?: boolean
}

/** A loopback port that was free a moment ago, so nothing listens there. */
const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const address = server.address()
        server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 1))
      })
    })
)

/** Starts the accounts and composes the orchestrator; returns the simulators by gateway id. */
export const start = (
  accounts: ReadonlyArray<Account>,
  options: { readonly strategy?: Routing.Strategy; readonly hooks?: Hooks.Config } = {}
) =>
  Effect.gen(function* () {
    const simulators = new Map<string, Simulator.Service>()
    const gateways: Array<Gateway.Gateway> = []
    for (const account of accounts) {
      const sim = yield* Effect.map(
        Layer.build(
          Simulator.layer({
            name: account.id.replace(/[^a-z]/g, ""),
            ...(account.latencyMs ? { latencyMs: account.latencyMs } : {})
          })
        ),
        Context.get(Simulator.Simulator)
      )
      simulators.set(account.id, sim)
      gateways.push(
        yield* Stripe.make({
          id: account.id as Ids.GatewayId,
          baseUrl: account.offline ? `http://127.0.0.1:${yield* closedPort}` : sim.url,
          apiKey: Redacted.make("sk_test_demo"),
          fees: account.fees ? new Fee.FeeSchedule({ ...account.fees, rounding: "half-up" }) : undefined
        }).pipe(Effect.provide(FetchHttpClient.layer))
      )
    }
    const app = AegisPay.compose(
      {
        stores: Memory.layer().pipe(Layer.provide(Ids.layer)),
        gateways: Layer.succeed(Gateway.GatewayRegistry, Gateway.registryFrom(gateways)),
        guard: GatewayGuard.layer({ breaker: { consecutiveFailures: 3, openTimeout: "5 seconds" } })
      },
      {
        ...(options.strategy ? { strategy: options.strategy } : {}),
        ...(options.hooks ? { hooks: options.hooks } : {}),
        reconciler: { background: false, pendingGrace: "0 millis", notFoundGrace: "0 millis" }
      }
    )
    const context = yield* Layer.build(app.pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Error))))
    return { context, simulators }
  })

export const merchantId = "merchant_demo" as Ids.MerchantId

export const payment = (
  over: Partial<PaymentService.CreatePaymentInput> & { readonly cardNumber?: string } = {}
): PaymentService.CreatePaymentInput => ({
  merchantId,
  amount: Money.make(4_990n, Currency.make("EUR")),
  customer: new Customer.Customer({ id: "cus_42" as Ids.CustomerId, country: "DE" as Customer.CountryCode }),
  card: Schema.decodeUnknownSync(Card.CardDetails)({
    number: over.cardNumber ?? "4242424242424242",
    expMonth: 12,
    expYear: 2030,
    cvc: "123"
  }),
  ...over
})

export const line = (p: {
  readonly id: string
  readonly status: string
  readonly gateway?: string | undefined
  readonly failure?: { readonly code: string } | undefined
}) => `${p.id}  ${p.status.padEnd(16)} ${p.gateway ?? "-"}${p.failure ? `  (${p.failure.code})` : ""}`

export const run = <A, E>(program: Effect.Effect<A, E, Scope.Scope>) =>
  program.pipe(Effect.scoped, Effect.runPromise).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
