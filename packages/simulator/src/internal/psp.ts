/**
 * The fake PSP's bookkeeping, as pure functions over a mutable state owned by one simulator
 * instance: PaymentIntents, refunds and the answers Stripe gives.
 */
import { type Form, obj, str } from "./form.js"

export interface Intent {
  readonly id: string
  readonly object: "payment_intent"
  amount: number
  readonly currency: string
  status: "requires_payment_method" | "requires_capture" | "succeeded" | "canceled"
  readonly capture_method: "automatic" | "manual"
  amount_capturable: number
  amount_received: number
  amount_refunded: number
  readonly metadata: Record<string, string>
  readonly created: number
  readonly livemode: false
  last_payment_error: null | {
    readonly code: string
    readonly decline_code?: string
    readonly message: string
    readonly type: string
  }
  canceled_at: number | null
  readonly idempotency_key: string | null
  readonly payment_method: string | null
}

export interface State {
  readonly prefix: string
  readonly intents: Map<string, Intent>
  seq: number
}

export interface Answer {
  readonly status: number
  readonly body: unknown
}

export const newState = (prefix: string): State => ({ prefix, intents: new Map(), seq: 0 })

const nextId = (state: State, kind: string) =>
  `${kind}_${state.prefix}${(++state.seq).toString(36).padStart(12, "0")}`

const invalid = (message: string, param?: string, code?: string): Answer => ({
  status: 400,
  body: {
    error: { type: "invalid_request_error", message, ...(param ? { param } : {}), ...(code ? { code } : {}) }
  }
})

const notFound = (id: string, param = "intent"): Answer => ({
  status: 404,
  body: {
    error: {
      type: "invalid_request_error",
      code: "resource_missing",
      message: `No such payment_intent: '${id}'`,
      param
    }
  }
})

/** Stripe's documented test cards and the errors they produce. */
export const testCards: Readonly<Record<string, { code: string; decline_code: string; message: string }>> = {
  "4000000000000002": {
    code: "card_declined",
    decline_code: "generic_decline",
    message: "Your card was declined."
  },
  "4000000000009995": {
    code: "card_declined",
    decline_code: "insufficient_funds",
    message: "Your card has insufficient funds."
  },
  "4000000000000069": {
    code: "expired_card",
    decline_code: "expired_card",
    message: "Your card has expired."
  },
  "4000000000000119": {
    code: "processing_error",
    decline_code: "processing_error",
    message: "An error occurred while processing your card. Try again in a little bit."
  }
}

/** Stripe's test payment-method tokens. */
const tokens: Readonly<Record<string, string>> = {
  pm_card_visa: "4242424242424242",
  pm_card_mastercard: "5555555555554444",
  pm_card_chargeDeclined: "4000000000000002",
  pm_card_chargeDeclinedInsufficientFunds: "4000000000009995",
  pm_card_chargeDeclinedExpiredCard: "4000000000000069",
  pm_card_chargeDeclinedProcessingError: "4000000000000119"
}

const luhn = (digits: string) => {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i])
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2
    sum += d
  }
  return sum % 10 === 0
}

const positiveInt = (raw: string | undefined) =>
  raw !== undefined && /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : undefined

export const createIntent = (
  state: State,
  form: Form,
  idempotencyKey: string | null,
  now: number
): Answer => {
  const amount = positiveInt(str(form, "amount"))
  if (amount === undefined) return invalid("Missing or invalid required param: amount.", "amount")
  const currency = str(form, "currency")?.toLowerCase()
  if (currency === undefined || !/^[a-z]{3}$/.test(currency))
    return invalid("Missing or invalid required param: currency.", "currency")
  const captureMethod = str(form, "capture_method") ?? "automatic"
  if (captureMethod !== "automatic" && captureMethod !== "manual") {
    return invalid("Invalid capture_method: must be one of automatic, manual", "capture_method")
  }
  const pmd = obj(form, "payment_method_data")
  const token = str(form, "payment_method")
  const number = token !== undefined ? tokens[token] : str(obj(pmd, "card"), "number")
  if (number === undefined)
    return invalid("You must provide payment_method or payment_method_data[card].", "payment_method")
  const intent: Intent = {
    id: nextId(state, "pi"),
    object: "payment_intent",
    amount,
    currency,
    status: "requires_payment_method",
    capture_method: captureMethod,
    amount_capturable: 0,
    amount_received: 0,
    amount_refunded: 0,
    metadata: Object.fromEntries(
      Object.entries(obj(form, "metadata")).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : []))
    ),
    created: Math.floor(now / 1000),
    livemode: false,
    last_payment_error: null,
    canceled_at: null,
    idempotency_key: idempotencyKey,
    payment_method: token ?? `pm_${state.prefix}${state.seq.toString(36)}`
  }
  state.intents.set(intent.id, intent)
  if (str(form, "confirm") !== "true") return { status: 200, body: intent }
  const decline =
    /^[0-9]{12,19}$/.test(number) && luhn(number)
      ? testCards[number]
      : {
          code: "incorrect_number",
          decline_code: "incorrect_number",
          message: "Your card number is incorrect."
        }
  if (decline !== undefined) {
    intent.last_payment_error = { type: "card_error", ...decline }
    return {
      status: 402,
      body: {
        error: {
          type: "card_error",
          ...decline,
          payment_intent: intent,
          doc_url: `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, "-")}`
        }
      }
    }
  }
  if (captureMethod === "manual") {
    intent.status = "requires_capture"
    intent.amount_capturable = amount
  } else {
    intent.status = "succeeded"
    intent.amount_received = amount
  }
  return { status: 200, body: intent }
}

export const getIntent = (state: State, id: string): Answer => {
  const intent = state.intents.get(id)
  return intent === undefined ? notFound(id) : { status: 200, body: intent }
}

export const capture = (state: State, id: string, form: Form): Answer => {
  const intent = state.intents.get(id)
  if (intent === undefined) return notFound(id)
  if (intent.status !== "requires_capture") {
    return invalid(
      `This PaymentIntent could not be captured because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      undefined,
      "payment_intent_unexpected_state"
    )
  }
  const raw = str(form, "amount_to_capture")
  const amount = raw === undefined ? intent.amount_capturable : positiveInt(raw)
  if (amount === undefined || amount > intent.amount_capturable) {
    return invalid(
      `amount_to_capture must be at most ${intent.amount_capturable}`,
      "amount_to_capture",
      "amount_too_large"
    )
  }
  intent.status = "succeeded"
  intent.amount_received = amount
  intent.amount_capturable = 0
  return { status: 200, body: intent }
}

export const cancel = (state: State, id: string, now: number): Answer => {
  const intent = state.intents.get(id)
  if (intent === undefined) return notFound(id)
  if (intent.status === "succeeded" || intent.status === "canceled") {
    return invalid(
      `You cannot cancel this PaymentIntent because it has a status of ${intent.status}.`,
      undefined,
      "payment_intent_unexpected_state"
    )
  }
  intent.status = "canceled"
  intent.amount_capturable = 0
  intent.canceled_at = Math.floor(now / 1000)
  return { status: 200, body: intent }
}

export const refund = (state: State, form: Form, now: number): Answer => {
  const id = str(form, "payment_intent")
  if (id === undefined) return invalid("Missing required param: payment_intent.", "payment_intent")
  const intent = state.intents.get(id)
  if (intent === undefined) return notFound(id, "payment_intent")
  const refundable = intent.amount_received - intent.amount_refunded
  if (intent.status !== "succeeded" || refundable <= 0) {
    return invalid(
      `Charge for PaymentIntent ${id} has already been refunded or was never captured.`,
      undefined,
      "charge_already_refunded"
    )
  }
  const raw = str(form, "amount")
  const amount = raw === undefined ? refundable : positiveInt(raw)
  if (amount === undefined || amount > refundable) {
    return invalid(
      `Refund amount (${raw}) is greater than the amount still refundable (${refundable}).`,
      "amount",
      "amount_too_large"
    )
  }
  intent.amount_refunded += amount
  return {
    status: 200,
    body: {
      id: nextId(state, "re"),
      object: "refund",
      amount,
      currency: intent.currency,
      payment_intent: id,
      status: "succeeded",
      created: Math.floor(now / 1000),
      metadata: {}
    }
  }
}

/** `metadata['key']:'value'` clauses joined by AND, as Stripe's search language writes them. */
export const search = (state: State, query: string): Answer => {
  const clauses = query
    .split(/\s+AND\s+/i)
    .map((c) => /^metadata\[['"]([^'"]+)['"]\]:['"]([^'"]*)['"]$/.exec(c.trim()))
  if (query.trim() === "" || clauses.some((c) => c === null)) {
    return invalid("Unsupported query: use metadata['key']:'value' clauses joined by AND.", "query")
  }
  const data = [...state.intents.values()].filter((i) => clauses.every((c) => i.metadata[c![1]!] === c![2]))
  return {
    status: 200,
    body: {
      object: "search_result",
      data,
      has_more: false,
      next_page: null,
      url: "/v1/payment_intents/search"
    }
  }
}

export const ledger = (state: State) => ({
  data: [...state.intents.values()].map((i) => ({
    id: i.id,
    amount: i.amount,
    currency: i.currency,
    status: i.status,
    amount_captured: i.amount_received,
    amount_refunded: i.amount_refunded,
    idempotency_key: i.idempotency_key,
    metadata: i.metadata
  }))
})
