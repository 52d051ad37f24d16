/**
 * @since 0.1.0
 */
export * as AegisPay from "./AegisPay.js"
export * as GatewayGuard from "./GatewayGuard.js"
export * as GatewaySetup from "./GatewaySetup.js"
export * as Hooks from "./Hooks.js"
export * as Logging from "./Logging.js"
export * as Metrics from "./Metrics.js"
export * as PaymentError from "./PaymentError.js"
export * as PaymentService from "./PaymentService.js"
export * as Reconciler from "./Reconciler.js"
export * as RequestContext from "./RequestContext.js"
export * as Router from "./Router.js"
export * as Routing from "./Routing.js"
export * as Setup from "./Setup.js"
export * as Telemetry from "./Telemetry.js"
