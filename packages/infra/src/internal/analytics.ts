import { Payment, PaymentReadModel } from "@aegispay/core"
import { DateTime } from "effect"

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!

/** Counts and volumes over payments created in [from, to); one implementation for every store. */
export const analytics = (
  payments: ReadonlyArray<Payment.Payment>,
  from: Date,
  to: Date
): PaymentReadModel.Analytics => {
  const inRange = payments.filter(
    (p) => p.createdAt.epochMillis >= from.getTime() && p.createdAt.epochMillis < to.getTime()
  )
  const byStatus = new Map<string, { count: number; volume: Map<string, bigint> }>()
  const byCurrency = new Map<string, { count: number; volume: bigint; captured: bigint; refunded: bigint }>()
  const byGateway = new Map<
    string,
    { attempts: number; succeeded: number; failed: number; unknown: number; latencies: Array<number> }
  >()
  for (const p of inRange) {
    const s = byStatus.get(p.status) ?? { count: 0, volume: new Map() }
    s.count += 1
    s.volume.set(p.amount.currency, (s.volume.get(p.amount.currency) ?? 0n) + p.amount.amount)
    byStatus.set(p.status, s)
    const c = byCurrency.get(p.amount.currency) ?? { count: 0, volume: 0n, captured: 0n, refunded: 0n }
    byCurrency.set(p.amount.currency, {
      count: c.count + 1,
      volume: c.volume + p.amount.amount,
      captured: c.captured + p.amountCaptured,
      refunded: c.refunded + p.amountRefunded
    })
    for (const a of p.attempts) {
      const g = byGateway.get(a.gateway) ?? {
        attempts: 0,
        succeeded: 0,
        failed: 0,
        unknown: 0,
        latencies: []
      }
      g.attempts += 1
      if (a.status === "succeeded") g.succeeded += 1
      if (a.status === "failed") g.failed += 1
      if (a.status === "unknown") g.unknown += 1
      if (a.status !== "pending") g.latencies.push(a.updatedAt.epochMillis - a.startedAt.epochMillis)
      byGateway.set(a.gateway, g)
    }
  }
  return new PaymentReadModel.Analytics({
    from: DateTime.unsafeMake(from),
    to: DateTime.unsafeMake(to),
    count: inRange.length,
    byStatus: [...byStatus].map(([status, s]) => ({
      status: status as Payment.PaymentStatus,
      count: s.count,
      volume: [...s.volume].map(([currency, amount]) => ({ currency, amount }))
    })),
    byCurrency: [...byCurrency].map(([currency, c]) => ({ currency, ...c })),
    byGateway: [...byGateway].map(([gateway, g]) => {
      const sorted = [...g.latencies].sort((a, b) => a - b)
      const decided = g.succeeded + g.failed
      return {
        gateway: gateway as Payment.Attempt["gateway"],
        attempts: g.attempts,
        succeeded: g.succeeded,
        failed: g.failed,
        unknown: g.unknown,
        successRate: decided === 0 ? 0 : g.succeeded / decided,
        latencyMs: {
          avg: sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length,
          p50: percentile(sorted, 50),
          p95: percentile(sorted, 95),
          p99: percentile(sorted, 99)
        }
      }
    })
  })
}

/** Cursors are opaque: base64url of "<createdAt millis>:<payment id>". */
export const encodeCursor = (p: Payment.Payment): string =>
  Buffer.from(`${p.createdAt.epochMillis}:${p.id}`, "utf8").toString("base64url")

export const decodeCursor = (cursor: string): { readonly at: number; readonly id: string } | undefined => {
  const raw = Buffer.from(cursor, "base64url").toString("utf8")
  const m = /^(\d{1,16}):(pay_[0-9A-Z]{26})$/.exec(raw)
  return m === null ? undefined : { at: Number(m[1]), id: m[2]! }
}

/** Newest first; ties by id, descending. */
export const newestFirst = (a: Payment.Payment, b: Payment.Payment): number =>
  b.createdAt.epochMillis - a.createdAt.epochMillis || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** Whether the reconciler must look at this payment. */
export const awaitsReconciliation = (p: Payment.Payment): boolean => {
  const current = Payment.currentAttempt(p)
  return (
    (p.status === "processing" && (current?.status === "pending" || current?.status === "unknown")) ||
    p.amountRefundPending > 0n ||
    p.pendingOperation !== undefined
  )
}
