/**
 * @since 0.1.0
 */
export * as Adyen from "./Adyen.js"
export * as Braintree from "./Braintree.js"
export * as PayPal from "./PayPal.js"
export * as Razorpay from "./Razorpay.js"
export * as Registry from "./Registry.js"
export * as Stripe from "./Stripe.js"
