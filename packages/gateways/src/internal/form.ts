/** Stripe-style form encoding of nested values: `{a: {b: 1}}` becomes `a[b]=1`. */
export type FormValue = string | number | boolean | undefined | { readonly [key: string]: FormValue }

export const encodeForm = (value: { readonly [key: string]: FormValue }): string => {
  const params = new URLSearchParams()
  const walk = (prefix: string, v: FormValue) => {
    if (v === undefined) return
    if (typeof v === "object") {
      for (const [k, inner] of Object.entries(v)) walk(prefix === "" ? k : `${prefix}[${k}]`, inner)
    } else params.append(prefix, String(v))
  }
  walk("", value)
  return params.toString()
}
