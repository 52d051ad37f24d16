/**
 * The JSON shapes of the API (DESIGN.md section 5).
 *
 * @since 0.1.0
 */
import { type EventStore, type Payment, PaymentEvent } from "@aegispay/core"
import type { PaymentService } from "aegispay"
import { DateTime, Schema } from "effect"

const iso = (d: DateTime.Utc) => DateTime.formatIso(d)

/**
 * @since 0.1.0
 * @category views
 */
export const payment = (p: Payment.Payment) => ({
  id: p.id,
  status: p.status,
  amount: Number(p.amount.amount),
  currency: p.amount.currency,
  amountCaptured: Number(p.amountCaptured),
  amountRefunded: Number(p.amountRefunded),
  captureMethod: p.captureMethod,
  customerId: p.customer.id,
  gateway: p.gateway ?? null,
  card: { brand: p.card.brand, last4: p.card.last4 },
  ...(p.failure
    ? { failure: { code: p.failure.code, message: p.failure.message, category: p.failure.category } }
    : {}),
  attempts: p.attempts.length,
  version: p.version,
  createdAt: iso(p.createdAt),
  updatedAt: iso(p.updatedAt),
  metadata: p.metadata
})

/**
 * @since 0.1.0
 * @category views
 */
export const refund = (r: PaymentService.RefundView) => ({
  id: r.id,
  paymentId: r.paymentId,
  amount: Number(r.amount),
  currency: r.currency,
  status: r.status,
  ...(r.reason !== undefined ? { reason: r.reason } : {}),
  ...(r.failure
    ? { failure: { code: r.failure.code, message: r.failure.message, category: r.failure.category } }
    : {}),
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt)
})

const encodeEvent = Schema.encodeSync(PaymentEvent.PaymentEvent)

/**
 * @since 0.1.0
 * @category views
 */
export const event = (e: EventStore.RecordedEvent) => ({
  id: e.eventId,
  type: e.type,
  version: e.version,
  data: encodeEvent(e.event),
  metadata: e.metadata,
  recordedAt: iso(e.recordedAt)
})
