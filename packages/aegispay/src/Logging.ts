/**
 * Structured logs. `LOG_FORMAT=json` writes one JSON object per line with `timestamp`, `level`,
 * `message`, and where known `correlationId`, `paymentId`, `merchantId`, `traceId`, `spanId`, plus
 * the other annotations; `pretty` is Effect's human-readable logger. As a last line of defence,
 * any run of 12 to 19 digits that passes the Luhn check is masked before a line is written.
 *
 * @since 0.1.0
 */
import { Card } from "@aegispay/core"
import {
  Cause,
  Config,
  Context,
  ConfigError,
  Effect,
  Either,
  FiberRef,
  FiberRefs,
  HashMap,
  Inspectable,
  Layer,
  List,
  Logger,
  LogLevel,
  Option,
  Tracer
} from "effect"
import * as RequestContext from "./RequestContext.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Format = "json" | "pretty"

const PAN = /\d(?:[ -]?\d){11,18}/g

/**
 * Masks anything that looks like a card number (12 to 19 digits passing Luhn).
 *
 * @since 0.1.0
 * @category redaction
 */
export const maskPans = (text: string): string =>
  text.replace(PAN, (match) => {
    const digits = match.replace(/[ -]/g, "")
    return digits.length >= 12 && Card.luhn(digits) ? `[card ••••${digits.slice(-4)}]` : match
  })

const plain = (u: unknown): unknown => (typeof u === "bigint" ? u.toString() : Inspectable.toJSON(u))

/**
 * The JSON-lines logger: one object per line (a `string`; pair it with `Logger.withConsoleLog`).
 *
 * @since 0.1.0
 * @category loggers
 */
export const jsonLogger: Logger.Logger<unknown, string> = Logger.make(
  ({ annotations, cause, context, date, logLevel, message, spans }) => {
    const entry: Record<string, unknown> = {
      timestamp: date.toISOString(),
      level: logLevel.label.toLowerCase(),
      message: Array.isArray(message)
        ? message.length === 1
          ? plain(message[0])
          : message.map(plain)
        : plain(message)
    }
    const correlationId = FiberRefs.getOrDefault(context, RequestContext.correlationId)
    if (Option.isSome(correlationId)) entry["correlationId"] = correlationId.value
    const span = Context.getOption(
      FiberRefs.getOrDefault(context, FiberRef.currentContext),
      Tracer.ParentSpan
    )
    if (Option.isSome(span)) {
      entry["traceId"] = span.value.traceId
      entry["spanId"] = span.value.spanId
    }
    for (const [key, value] of HashMap.toEntries(annotations)) entry[key] = plain(value)
    if (!Cause.isEmpty(cause)) entry["cause"] = Cause.pretty(cause, { renderErrorCause: true })
    if (List.isCons(spans)) {
      const now = date.getTime()
      entry["spans"] = Object.fromEntries([...spans].map((s) => [s.label, now - s.startTime]))
    }
    return maskPans(Inspectable.stringifyCircular(entry))
  }
)

/**
 * Replaces the default logger with `format` at `level`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: {
  readonly format: Format
  readonly level: LogLevel.LogLevel
}): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      options.format === "json" ? Logger.withConsoleLog(jsonLogger) : Logger.prettyLogger()
    ),
    Logger.minimumLogLevel(options.level)
  )

/**
 * `LOG_LEVEL` (error, warn, info, debug, trace; any case; default info) and `LOG_FORMAT`
 * (json | pretty; default json).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<{ readonly format: Format; readonly level: LogLevel.LogLevel }> =
  Config.all({
    format: Config.literal(
      "json",
      "pretty"
    )("LOG_FORMAT").pipe(
      Config.withDefault("json" as const),
      Config.withDescription("json: one JSON object per line; pretty: for a terminal")
    ),
    level: Config.string("LOG_LEVEL").pipe(
      Config.withDefault("info"),
      Config.mapOrFail((raw) => {
        const levels: Record<string, LogLevel.LogLevel> = {
          error: LogLevel.Error,
          warn: LogLevel.Warning,
          warning: LogLevel.Warning,
          info: LogLevel.Info,
          debug: LogLevel.Debug,
          trace: LogLevel.Trace
        }
        const level = levels[raw.trim().toLowerCase()]
        return level !== undefined
          ? Either.right(level)
          : Either.left(
              ConfigError.InvalidData(
                [],
                `LOG_LEVEL must be one of error, warn, info, debug, trace; got "${raw.slice(0, 20)}"`
              )
            )
      })
    )
  })

/**
 * The logger configured from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<never, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(config, layer)
)
