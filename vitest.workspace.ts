/**
 * The test projects of the workspace: one per package, plus the end-to-end suites in `test/`.
 * The root `vitest.config.ts` passes this list as `test.projects`.
 */
export default ["packages/*/vitest.config.ts", "test/vitest.config.ts"]
