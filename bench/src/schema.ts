/**
 * Runs `f` with a connection string whose search path is a fresh schema, dropped with everything
 * in it afterwards: each contender works in its own schema and nothing is left in `public`.
 */
import { Testing } from "@aegispay/infra"
import { Effect } from "effect"

export const withSchema = <A>(url: string, prefix: string, f: (url: string) => Promise<A>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(Testing.throwawaySchemaUrl(url, prefix), (schemaUrl) =>
        Effect.promise(() => f(schemaUrl))
      )
    )
  )
