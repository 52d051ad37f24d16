/**
 * The server's configuration from the environment (DESIGN.md section 7): `PORT`, `HOST`,
 * `AEGISPAY_API_KEYS` (`merchantId:key,...`), `NODE_ENV`, `AEGISPAY_SHUTDOWN_TIMEOUT_MS`. Without keys outside production one
 * development key is generated; in production the server refuses to start without keys.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Duration, Either, Option } from "effect"
import { randomBytes } from "node:crypto"

/**
 * @since 0.1.0
 * @category models
 */
export interface ServerConfig {
  readonly port: number
  readonly host: string
  /** API key → merchant id. */
  readonly apiKeys: ReadonlyMap<string, string>
  /** The generated development key, when no key was configured. */
  readonly devKey: Option.Option<string>
  /**
   * On shutdown, how long requests in flight may take to finish before their connections are
   * closed (default `defaultShutdownTimeout`).
   */
  readonly shutdownTimeout?: Duration.Duration | undefined
}

/**
 * @since 0.1.0
 * @category config
 */
export const defaultShutdownTimeout: Duration.Duration = Duration.seconds(10)

const parseKeys = (raw: string): Either.Either<ReadonlyMap<string, string>, ConfigError.ConfigError> => {
  const keys = new Map<string, string>()
  for (const entry of raw
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.length > 0)) {
    const i = entry.indexOf(":")
    const merchant = entry.slice(0, i)
    const key = entry.slice(i + 1)
    if (i <= 0 || key.length < 16 || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(merchant)) {
      return Either.left(
        ConfigError.InvalidData(
          ["AEGISPAY_API_KEYS"],
          "AEGISPAY_API_KEYS must be merchantId:key pairs separated by commas, each key at least 16 characters"
        )
      )
    }
    keys.set(key, merchant)
  }
  return Either.right(keys)
}

/**
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<ServerConfig> = Config.all({
  port: Config.port("PORT").pipe(Config.withDefault(3000)),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  production: Config.string("NODE_ENV").pipe(
    Config.withDefault("development"),
    Config.map((v) => v === "production")
  ),
  keys: Config.option(Config.string("AEGISPAY_API_KEYS").pipe(Config.mapOrFail(parseKeys))),
  shutdownTimeout: Config.integer("AEGISPAY_SHUTDOWN_TIMEOUT_MS").pipe(
    Config.withDefault(Duration.toMillis(defaultShutdownTimeout)),
    Config.validate({
      message: "AEGISPAY_SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds, 0 or more",
      validation: (ms) => ms >= 0
    }),
    Config.map(Duration.millis),
    Config.withDescription("on SIGTERM/SIGINT, how long requests in flight may take to finish")
  )
}).pipe(
  Config.mapOrFail(({ host, keys, port, production, shutdownTimeout }) => {
    if (Option.isSome(keys) && keys.value.size > 0)
      return Either.right({ port, host, apiKeys: keys.value, devKey: Option.none(), shutdownTimeout })
    if (production) {
      return Either.left(
        ConfigError.MissingData(
          ["AEGISPAY_API_KEYS"],
          "NODE_ENV=production requires AEGISPAY_API_KEYS (merchantId:key,...)"
        )
      )
    }
    const devKey = `sk_dev_${randomBytes(18).toString("base64url")}`
    return Either.right({
      port,
      host,
      apiKeys: new Map([[devKey, "merchant_dev"]]),
      devKey: Option.some(devKey),
      shutdownTimeout
    })
  })
)
