import { ServerConfig } from "@aegispay/http"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Option } from "effect"

const load = (env: Record<string, string>) =>
  Effect.either(
    Effect.withConfigProvider(ServerConfig.config, ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

describe("ServerConfig", () => {
  it.effect("defaults: 127.0.0.1:3000, one generated development key, a 10 s shutdown deadline", () =>
    Effect.gen(function* () {
      const config = Either.getOrThrow(yield* load({}))
      assert.strictEqual(config.host, "127.0.0.1")
      assert.strictEqual(config.port, 3000)
      assert.isTrue(Option.isSome(config.devKey))
      const key = Option.getOrThrow(config.devKey)
      assert.match(key, /^sk_dev_[A-Za-z0-9_-]{20,}$/)
      assert.deepStrictEqual([...config.apiKeys], [[key, "merchant_dev"]])
      assert.strictEqual(Duration.toMillis(config.shutdownTimeout!), 10_000)
      const other = Either.getOrThrow(yield* load({}))
      assert.notStrictEqual(Option.getOrThrow(other.devKey), key, "a fresh key per start")
    })
  )

  it.effect("AEGISPAY_API_KEYS: merchantId:key pairs; HOST and PORT as given", () =>
    Effect.gen(function* () {
      const config = Either.getOrThrow(
        yield* load({
          AEGISPAY_API_KEYS: "shop_a:sk_live_aaaaaaaaaaaaaaaa, shop_b:sk_live_bbbbbbbbbbbbbbbb",
          HOST: "0.0.0.0",
          PORT: "8080",
          NODE_ENV: "production"
        })
      )
      assert.deepStrictEqual([...config.apiKeys].sort(), [
        ["sk_live_aaaaaaaaaaaaaaaa", "shop_a"],
        ["sk_live_bbbbbbbbbbbbbbbb", "shop_b"]
      ])
      assert.isTrue(Option.isNone(config.devKey))
      assert.deepStrictEqual([config.host, config.port], ["0.0.0.0", 8080])
    })
  )

  it.effect(
    "refuses: production without keys, malformed or short keys, a bad port, a negative deadline",
    () =>
      Effect.gen(function* () {
        const refused: ReadonlyArray<readonly [Record<string, string>, RegExp]> = [
          [{ NODE_ENV: "production" }, /NODE_ENV=production requires AEGISPAY_API_KEYS/],
          [{ AEGISPAY_API_KEYS: "shop_a" }, /merchantId:key pairs/],
          [{ AEGISPAY_API_KEYS: "shop_a:short" }, /at least 16 characters/],
          [{ PORT: "70000" }, /PORT/],
          [{ AEGISPAY_SHUTDOWN_TIMEOUT_MS: "-1" }, /AEGISPAY_SHUTDOWN_TIMEOUT_MS/]
        ]
        for (const [env, message] of refused) {
          const result = yield* load(env)
          assert.isTrue(Either.isLeft(result), JSON.stringify(env))
          if (Either.isLeft(result)) {
            assert.match(String(result.left), message)
            assert.notInclude(String(result.left), "short")
          }
        }
      })
  )
})
