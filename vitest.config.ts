import { defineConfig } from "vitest/config"
import projects from "./vitest.workspace.js"

/** When set (by .ci/run), vitest also writes its JSON report there, for the CI summary line. */
const report = process.env["AEGISPAY_TEST_REPORT"]

export default defineConfig({
  test: {
    projects,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    ...(report ? { reporters: ["default", "json"], outputFile: { json: report } } : {})
  }
})
