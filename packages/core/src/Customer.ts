/**
 * The customer a payment is for, as the merchant knows them.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { CustomerId } from "./Ids.js"

/**
 * ISO 3166-1 alpha-2 country code, upper case.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CountryCode = Schema.String.pipe(
  Schema.pattern(/^[A-Z]{2}$/, { message: () => "a country is an ISO 3166-1 alpha-2 code such as US or DE" }),
  Schema.brand("CountryCode")
)

/**
 * @since 0.1.0
 * @category models
 */
export type CountryCode = typeof CountryCode.Type

/**
 * @since 0.1.0
 * @category models
 */
export class Customer extends Schema.Class<Customer>("Customer")({
  id: CustomerId,
  email: Schema.optional(
    Schema.String.pipe(
      Schema.maxLength(254),
      Schema.pattern(/^[^\s@]+@[^\s@]+$/, { message: () => "email must look like name@example.com" })
    )
  ),
  country: Schema.optional(CountryCode)
}) {}
