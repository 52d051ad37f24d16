/**
 * @since 0.1.0
 */
export * as Bulkhead from "./Bulkhead.js"
export * as Chaos from "./Chaos.js"
export * as CircuitBreaker from "./CircuitBreaker.js"
export * as HealthMonitor from "./HealthMonitor.js"
export * as RetryPolicy from "./RetryPolicy.js"
