/** Stripe's form encoding: `a[b][c]=v` keys become nested objects. */
export type Form = { [key: string]: string | Form }

export const parseForm = (body: string): Form => {
  const out: Form = {}
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const parts = rawKey.split(/\[|\]\[|\]/).filter((p) => p.length > 0)
    let node = out
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value
      else {
        const next = node[part]
        node = typeof next === "object" ? next : (node[part] = {})
      }
    })
  }
  return out
}

/** A canonical form of the parameters (sorted keys), to compare two requests. */
export const canonical = (body: string): string =>
  [...new URLSearchParams(body)]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")

export const str = (form: Form, key: string): string | undefined => {
  const v = form[key]
  return typeof v === "string" ? v : undefined
}

export const obj = (form: Form, key: string): Form => {
  const v = form[key]
  return typeof v === "object" ? v : {}
}

export const flat = (form: Form): Record<string, string> =>
  Object.fromEntries(Object.entries(form).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : [])))
