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

/** What a scripted gateway answers to capture or void, in order (the last answer repeats; default Approve). */
export type OperationAnswer =
  | { readonly _tag: "Approve" }
  | { readonly _tag: "Fail"; readonly error: GatewayError.GatewayError }
  /** Captures (or voids) but answers with an Ambiguous error: a lost response. */
  | { readonly _tag: "ApplyThenLose" }

/** The scripts of capture and void. */
export interface OperationScripts {
  readonly capture?: ReadonlyArray<OperationAnswer>
  readonly void?: ReadonlyArray<OperationAnswer>
}

/** A capture or void request as the PSP received it. */
export interface OperationRequest {
  readonly operation: "capture" | "void"
  readonly idempotencyKey: string
  readonly gatewayReference: string
  readonly amount?: bigint
}

/** A refund request as the PSP received it. */
export type RefundRequest = Parameters<Gateway.Gateway["refund"]>[0]

export interface Scripted {
  readonly gateway: Gateway.Gateway
  readonly calls: Effect.Effect<ReadonlyArray<string>>
  /** Every refund request, in order. */
  readonly refunds: Effect.Effect<ReadonlyArray<RefundRequest>>
  /** Attempt keys the PSP really charged, with their amounts. */
  readonly charges: Effect.Effect<ReadonlyMap<string, bigint>>
  /** Every capture and void request, in order. */
  readonly operations: Effect.Effect<ReadonlyArray<OperationRequest>>
  /** What the PSP really captured or voided, by idempotency key (a replayed key adds nothing). */
  readonly applied: Effect.Effect<ReadonlyMap<string, OperationRequest>>
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
  refundScript: ReadonlyArray<RefundAnswer> = [],
  operationScripts: OperationScripts = {}
) =>
  Effect.gen(function* () {
    const gatewayId = id as Ids.GatewayId
    const calls = yield* Ref.make<ReadonlyArray<string>>([])
    const charges = yield* Ref.make<
      ReadonlyMap<string, { amount: bigint; captured: bigint; refunded: bigint }>
    >(new Map())
    const turn = yield* Ref.make(0)
    const refunds = yield* Ref.make<ReadonlyArray<RefundRequest>>([])
    const operations = yield* Ref.make<ReadonlyArray<OperationRequest>>([])
    const applied = yield* Ref.make<ReadonlyMap<string, OperationRequest>>(new Map())
    /** Answers a capture or void from its script; a key already applied replays its success. */
    const operate = (request: OperationRequest, result: Gateway.GatewayPayment) =>
      Effect.gen(function* () {
        yield* Ref.update(calls, (c) => [...c, `${request.operation}:${request.idempotencyKey}`])
        const script = operationScripts[request.operation] ?? []
        const n = (yield* Ref.getAndUpdate(operations, (r) => [...r, request])).filter(
          (r) => r.operation === request.operation
        ).length
        if ((yield* Ref.get(applied)).has(request.idempotencyKey)) return result
        const answer = script[Math.min(n, script.length - 1)] ?? { _tag: "Approve" }
        if (answer._tag === "Fail") return yield* Effect.fail(answer.error)
        yield* Ref.update(applied, (m) => new Map(m).set(request.idempotencyKey, request))
        if (answer._tag === "ApplyThenLose") return yield* Effect.fail(ambiguous(id))
        return result
      })
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
        operate(
          {
            operation: "capture",
            idempotencyKey: req.idempotencyKey,
            gatewayReference: req.gatewayReference,
            amount: req.amount.amount
          },
          new Gateway.GatewayPayment({
            gatewayReference: req.gatewayReference,
            status: "captured",
            amountAuthorized: req.amount.amount,
            amountCaptured: req.amount.amount,
            amountRefunded: 0n
          })
        ),
      void: (req) =>
        operate(
          { operation: "void", idempotencyKey: req.idempotencyKey, gatewayReference: req.gatewayReference },
          new Gateway.GatewayPayment({
            gatewayReference: req.gatewayReference,
            status: "voided",
            amountAuthorized: 0n,
            amountCaptured: 0n,
            amountRefunded: 0n
          })
        ),
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
      operations: Ref.get(operations),
      applied: Ref.get(applied),
      charges: Effect.map(Ref.get(charges), (m) => new Map([...m].map(([k, v]) => [k, v.amount])))
    } satisfies Scripted
  })
