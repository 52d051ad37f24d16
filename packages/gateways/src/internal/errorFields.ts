import { GatewayError, type Ids } from "@aegispay/core"
import { type Duration, Option } from "effect"

/**
 * Masks any run of 12 or more digits (spaces and dashes allowed between them) in text a PSP sent
 * back, so a card number echoed in an error message never reaches one of ours.
 */
export const scrub = (text: string): string =>
  text.replace(/\d[\d -]{10,22}\d/g, (m) => (m.replace(/\D/g, "").length >= 12 ? "[redacted]" : m))

/** The PSP's request id as the taxonomy's optional field. */
export const requestIdOf = (requestId: string | undefined): { readonly pspRequestId?: string } =>
  requestId !== undefined ? { pspRequestId: requestId } : {}

/** The fields every taxonomy error of one answer shares. */
export interface Common {
  readonly gateway: Ids.GatewayId
  readonly httpStatus?: number
  readonly pspRequestId?: string
}

export const commonOf = (
  gateway: Ids.GatewayId,
  status: number | undefined,
  requestId: string | undefined
): Common => ({
  gateway,
  ...(status !== undefined ? { httpStatus: status } : {}),
  ...requestIdOf(requestId)
})

/** A 429: `Retryable`, with the PSP's `Retry-After` as the least wait when it sent one. */
export const rateLimited = (
  common: Common,
  detail: string,
  retryAfter: Option.Option<Duration.Duration>
): GatewayError.Retryable =>
  new GatewayError.Retryable({
    ...common,
    code: "rate_limited",
    detail,
    ...(Option.isSome(retryAfter) ? { retryAfter: retryAfter.value } : {})
  })
