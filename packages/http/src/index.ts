/**
 * @since 0.1.0
 */
export * as Api from "./Api.js"
export * as Handlers from "./Handlers.js"
export * as Server from "./Server.js"
export * as ServerConfig from "./ServerConfig.js"
export * as View from "./View.js"
