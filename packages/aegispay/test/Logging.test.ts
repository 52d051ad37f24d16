import { assert, describe, it } from "@effect/vitest"
import { Logging, RequestContext } from "aegispay"
import { ConfigProvider, Effect, Layer, Logger, LogLevel, Option } from "effect"

const capture = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.map(Logging.jsonLogger, (line) => {
      lines.push(line)
    })
  )

describe("Logging", () => {
  it.effect("JSON lines carry level, message, correlation, payment, merchant, trace and span ids", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      yield* Effect.logInfo("payment created").pipe(
        Effect.annotateLogs({ paymentId: "pay_1", merchantId: "m_1", amount: 10n }),
        Effect.withSpan("PaymentService.create"),
        Effect.locally(RequestContext.correlationId, Option.some("corr-42")),
        Effect.provide(capture(lines))
      )
      const entry = JSON.parse(lines[0]!) as Record<string, unknown>
      assert.strictEqual(entry["level"], "info")
      assert.strictEqual(entry["message"], "payment created")
      assert.strictEqual(entry["correlationId"], "corr-42")
      assert.strictEqual(entry["paymentId"], "pay_1")
      assert.strictEqual(entry["merchantId"], "m_1")
      assert.strictEqual(entry["amount"], "10")
      assert.match(String(entry["traceId"]), /^[0-9a-f]+$/)
      assert.match(String(entry["spanId"]), /^[0-9a-f]+$/)
      assert.isString(entry["timestamp"])
    })
  )

  it.effect("masks anything that looks like a card number", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      yield* Effect.logWarning("client sent 4242424242424242 and 4242 4242 4242 4242 in a note").pipe(
        Effect.provide(capture(lines))
      )
      assert.notInclude(lines[0]!, "4242424242424242")
      assert.notInclude(lines[0]!, "4242 4242 4242 4242")
      assert.include(lines[0]!, "[card ••••4242]")
      assert.strictEqual(
        Logging.maskPans("order 1234567890123"),
        "order 1234567890123",
        "non-Luhn digits stay"
      )
    })
  )

  it.effect("LOG_LEVEL in any case and LOG_FORMAT from the environment; bad values are a clear error", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        Effect.withConfigProvider(Logging.config, ConfigProvider.fromMap(new Map(Object.entries(env))))
      const c = yield* read({ LOG_LEVEL: "DEBUG", LOG_FORMAT: "pretty" })
      assert.strictEqual(c.level, LogLevel.Debug)
      assert.strictEqual(c.format, "pretty")
      assert.strictEqual((yield* read({})).level, LogLevel.Info)
      const bad = yield* Effect.flip(read({ LOG_LEVEL: "loud" }))
      assert.include(String(bad), "LOG_LEVEL must be one of")
      yield* Effect.logDebug("not shown").pipe(
        Effect.provide(Layer.mergeAll(Logging.layer({ format: "json", level: LogLevel.Error })))
      )
    })
  )
})
