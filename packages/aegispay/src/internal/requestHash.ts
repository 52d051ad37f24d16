import { createHash } from "node:crypto"

/** SHA-256 of a canonical JSON (keys sorted) of a value: the idempotency request fingerprint. */
export const requestHash = (value: unknown): string =>
  createHash("sha256").update(canonical(value)).digest("hex")

const canonical = (value: unknown): string => {
  if (typeof value === "bigint") return JSON.stringify(value.toString())
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/**
 * A payment id derived from the merchant and its idempotency key, so that a retry of a create whose
 * first attempt died mid-flight lands on the same payment stream (and the event store's expected
 * version refuses a second one).
 */
export const derivedId = (prefix: string, scope: string): string => {
  const digest = createHash("sha256").update(scope).digest()
  let out = ""
  for (let i = 0; i < 26; i++) out += CROCKFORD[digest[i]! & 31]
  return `${prefix}_${out}`
}
