/**
 * Runs the benchmark suites: `pnpm bench` runs all of them, `pnpm bench <name> ...` only those named.
 * Each suite measures AegisPay side by side with a peer library in the same process and run, prints
 * a Markdown table and appends nothing by itself: copy the table into bench/RESULTS.md with the command.
 */
const suites: Record<string, () => Promise<unknown>> = {
  breaker: () => import("./breaker.js"),
  eventstore: () => import("./eventstore.js"),
  http: () => import("./http.js"),
  relay: () => import("./relay.js")
}

const wanted = process.argv.slice(2)
const names = wanted.length > 0 ? wanted : Object.keys(suites)
for (const name of names) {
  const load = suites[name]
  if (load === undefined) {
    console.error(`unknown suite "${name}"; known: ${Object.keys(suites).join(", ")}`)
    process.exit(2)
  }
  const mod = (await load()) as { run: () => Promise<void> }
  await mod.run()
}
