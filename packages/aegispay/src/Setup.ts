/**
 * `Setup.layerConfig`: the whole orchestrator from the environment (DESIGN.md section 7), as
 * `AegisPay.layer` of the configuration read there: PostgreSQL from `DATABASE_URL` or embedded
 * PGlite in `AEGISPAY_DATA_DIR`; gateways from `AEGISPAY_GATEWAYS`, or, when absent, three simulated
 * PSP accounts started in-process; breakers, health, router, hooks and a reconciler running in the
 * background; the outbox relay publishing to the in-process event bus and, with `NATS_URL`, to NATS
 * JetStream (`AEGISPAY_NATS_STREAM`, `AEGISPAY_NATS_SUBJECT_PREFIX`).
 *
 * @since 0.1.0
 */
import { Registry } from "@aegispay/gateways"
import { Config, ConfigError, Effect, Either, Layer, Option } from "effect"
import * as AegisPay from "./AegisPay.js"

/**
 * One entry of `AEGISPAY_GATEWAYS` (see `Registry` in `@aegispay/gateways` for every PSP type).
 *
 * @since 0.1.0
 * @category config
 */
export const GatewayConfig = Registry.Account

/**
 * @since 0.1.0
 * @category tags
 */
export { GatewaySetup } from "./GatewaySetup.js"

const gateways: Config.Config<AegisPay.GatewaysConfig> = Config.option(
  Config.string("AEGISPAY_GATEWAYS")
).pipe(
  Config.mapOrFail((raw): Either.Either<AegisPay.GatewaysConfig, ConfigError.ConfigError> => {
    if (Option.isNone(raw)) return Either.right({ _tag: "Simulated" } as const)
    const parsed = Registry.decodeJson(raw.value)
    return Either.isRight(parsed)
      ? Either.right({ _tag: "Accounts", accounts: parsed.right } as const)
      : Either.left(
          ConfigError.InvalidData(
            ["AEGISPAY_GATEWAYS"],
            `AEGISPAY_GATEWAYS must be a JSON list of {id, type (${Registry.types.join(", ")}), baseUrl, credentials, fees?}: ${parsed.left.message}`
          )
        )
  })
)

/**
 * The configuration `AegisPay.layer` gets from the environment.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<AegisPay.Config> = Config.all({
  url: Config.option(Config.redacted("DATABASE_URL")),
  dataDir: Config.string("AEGISPAY_DATA_DIR").pipe(Config.withDefault(".aegispay/data")),
  gateways,
  nats: Config.option(Config.string("NATS_URL")),
  stream: Config.string("AEGISPAY_NATS_STREAM").pipe(Config.withDefault("AEGISPAY")),
  prefix: Config.string("AEGISPAY_NATS_SUBJECT_PREFIX").pipe(Config.withDefault("aegispay"))
}).pipe(
  Config.map((c): AegisPay.Config => ({
    database: Option.isSome(c.url)
      ? { _tag: "Postgres", url: c.url.value }
      : { _tag: "Pglite", dataDir: c.dataDir },
    gateways: c.gateways,
    ...(Option.isSome(c.nats) ? { nats: { servers: c.nats.value, stream: c.stream, prefix: c.prefix } } : {})
  }))
)

/**
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = Layer.unwrapEffect(Effect.map(config, AegisPay.layer))
