/**
 * @since 0.1.0
 */
export * as Stripe from "./Stripe.js"
