/**
 * @since 0.1.0
 */
export * as Card from "./Card.js"
export * as Currency from "./Currency.js"
export * as Customer from "./Customer.js"
export * as Failure from "./Failure.js"
export * as Fee from "./Fee.js"
export * as Ids from "./Ids.js"
export * as Money from "./Money.js"
export * as Payment from "./Payment.js"
export * as PaymentCommand from "./PaymentCommand.js"
export * as PaymentError from "./PaymentError.js"
export * as PaymentEvent from "./PaymentEvent.js"
export * as Risk from "./Risk.js"
export * as Rounding from "./Rounding.js"
export * as Routing from "./Routing.js"
