import { Gateway, GatewayError, Ids } from "@aegispay/core"
import { Effect, Option, Ref } from "effect"

/** What a scripted gateway answers to authorize, in order (the last answer repeats). */
export type Answer =
  | { readonly _tag: "Approve" }
  | { readonly _tag: "Fail"; readonly error: GatewayError.GatewayError }
  /** Charges (records the attempt as captured) but answers with an Ambiguous error: a lost response. */
  | { readonly _tag: "ChargeThenLose" }

/** What a scripted gateway answers to refund, in order (the last answer repeats; default Approve). */
export type RefundAnswer =
  | { readonly _tag: "Approve" }
  /** Refunds but answers with an Ambiguous error: a lost response. */
  | { readonly _tag: "RefundThenLose" }

/** A refund request as the PSP received it. */
export type RefundRequest = Parameters<Gateway.Gateway["refund"]>[0]

export interface Scripted {
  readonly gateway: Gateway.Gateway
  readonly calls: Effect.Effect<ReadonlyArray<string>>
  /** Every refund request, in order. */
  readonly refunds: Effect.Effect<ReadonlyArray<RefundRequest>>
  /** Attempt keys the PSP really charged, with their amounts. */
  readonly charges: Effect.Effect<ReadonlyMap<string, bigint>>
}

const common = (gateway: Ids.GatewayId, code: string) => ({ gateway, code, detail: code })
export const hard = (g: string) =>
  new GatewayError.HardDecline(common(g as Ids.GatewayId, "insufficient_funds"))
export const soft = (g: string) => new GatewayError.SoftDecline(common(g as Ids.GatewayId, "do_not_honor"))
export const retryable = (g: string) => new GatewayError.Retryable(common(g as Ids.GatewayId, "rate_limited"))
export const ambiguous = (g: string) => new GatewayError.Ambiguous(common(g as Ids.GatewayId, "timeout"))

/** A test double of a PSP that answers from a script and remembers what it charged. */
export const make = (
  id: string,
  script: ReadonlyArray<Answer>,
  refundScript: ReadonlyArray<RefundAnswer> = []
) =>
  Effect.gen(function* () {
    const gatewayId = id as Ids.GatewayId
    const calls = yield* Ref.make<ReadonlyArray<string>>([])
    const charges = yield* Ref.make<
      ReadonlyMap<string, { amount: bigint; captured: bigint; refunded: bigint }>
    >(new Map())
    const turn = yield* Ref.make(0)
    const refunds = yield* Ref.make<ReadonlyArray<RefundRequest>>([])
    const payment = (key: string, captured: bigint) =>
      new Gateway.GatewayPayment({
        gatewayReference: `ref_${key}`,
        status: captured > 0n ? "captured" : "authorized",
        amountAuthorized: captured,
        amountCaptured: captured,
        amountRefunded: 0n
      })
    const gateway: Gateway.Gateway = {
      id: gatewayId,
      type: "scripted",
      fees: Option.none(),
      authorize: (req) =>
        Effect.gen(function* () {
          yield* Ref.update(calls, (c) => [...c, `authorize:${req.idempotencyKey}`])
          const n = yield* Ref.getAndUpdate(turn, (x) => x + 1)
          const answer = script[Math.min(n, script.length - 1)] ?? { _tag: "Approve" }
          const charged = yield* Ref.get(charges)
          const existing = charged.get(req.idempotencyKey)
          if (existing !== undefined) return payment(req.idempotencyKey, existing.captured) // idempotent replay
          if (answer._tag === "Fail") return yield* Effect.fail(answer.error)
          const captured = req.captureMethod === "automatic" ? req.amount.amount : 0n
          yield* Ref.update(charges, (m) =>
            new Map(m).set(req.idempotencyKey, { amount: req.amount.amount, captured, refunded: 0n })
          )
          if (answer._tag === "ChargeThenLose") return yield* Effect.fail(ambiguous(id))
          return payment(req.idempotencyKey, captured)
        }),
      capture: (req) =>
        Effect.gen(function* () {
          yield* Ref.update(calls, (c) => [...c, `capture:${req.idempotencyKey}`])
          return new Gateway.GatewayPayment({
            gatewayReference: req.gatewayReference,
            status: "captured",
            amountAuthorized: req.amount.amount,
            amountCaptured: req.amount.amount,
            amountRefunded: 0n
          })
        }),
      void: (req) =>
        Effect.gen(function* () {
          yield* Ref.update(calls, (c) => [...c, `void:${req.idempotencyKey}`])
          return new Gateway.GatewayPayment({
            gatewayReference: req.gatewayReference,
            status: "voided",
            amountAuthorized: 0n,
            amountCaptured: 0n,
            amountRefunded: 0n
          })
        }),
      refund: (req) =>
        Effect.gen(function* () {
          yield* Ref.update(calls, (c) => [...c, `refund:${req.idempotencyKey}`])
          const n = (yield* Ref.getAndUpdate(refunds, (r) => [...r, req])).length
          const answer = refundScript[Math.min(n, refundScript.length - 1)] ?? { _tag: "Approve" }
          if (answer._tag === "RefundThenLose") return yield* Effect.fail(ambiguous(id))
          return new Gateway.GatewayRefund({
            gatewayReference: `rf_${req.idempotencyKey}`,
            amount: req.amount.amount,
            status: "succeeded"
          })
        }),
      status: (key) =>
        Effect.gen(function* () {
          yield* Ref.update(calls, (c) => [...c, `status:${key}`])
          const charged = (yield* Ref.get(charges)).get(key)
          return charged === undefined
            ? ({ _tag: "NotFound" } as const)
            : ({ _tag: "Found", payment: payment(key, charged.captured) } as const)
        }),
      health: Effect.succeed({ reachable: true, latencyMillis: 0 })
    }
    return {
      gateway,
      calls: Ref.get(calls),
      refunds: Ref.get(refunds),
      charges: Effect.map(Ref.get(charges), (m) => new Map([...m].map(([k, v]) => [k, v.amount])))
    } satisfies Scripted
  })
