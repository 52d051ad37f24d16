import { PgliteClient } from "@aegispay/infra"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "aegispay-lock-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("PGlite data directory lock", () => {
  it.scopedLive(
    "a second open of the same data directory fails clearly while the first holds it; it opens again once released",
    () =>
      Effect.gen(function* () {
        const dataDir = join(yield* tempDir, "data")
        const open = Layer.build(PgliteClient.layer({ dataDir }))
        const second = yield* Effect.gen(function* () {
          yield* open
          assert.isTrue(existsSync(`${dataDir}.lock`))
          return yield* Effect.either(Effect.scoped(open))
        }).pipe(Effect.scoped)
        assert.isTrue(Either.isLeft(second))
        if (Either.isLeft(second)) {
          assert.include(second.left.message, `in use by process ${process.pid}`)
          assert.include(second.left.message, "AEGISPAY_DATA_DIR")
        }
        assert.isFalse(existsSync(`${dataDir}.lock`), "released with its scope")
        yield* Effect.scoped(open)
      }),
    60_000
  )

  it.scopedLive(
    "a lock left by a process that no longer runs is taken over",
    () =>
      Effect.gen(function* () {
        const dataDir = join(yield* tempDir, "data")
        // the id of a process that has exited
        const gone = spawnSync(process.execPath, ["-e", "0"]).pid!
        writeFileSync(`${dataDir}.lock`, String(gone))
        yield* Effect.scoped(Layer.build(PgliteClient.layer({ dataDir })))
      }),
    60_000
  )
})
