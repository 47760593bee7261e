// Runs every conformance scenario on the runtime executing this file and
// prints one "@@result <json>" line per scenario for the vitest side.
import { loadForRuntime } from "./_library.ts";
import { scenarios } from "./scenarios.ts";

// An optional argument runs only the scenarios it names, separated by "|".
const only = process.argv[2];
const context = await loadForRuntime();
// Let start-up finish before scenarios count fds: load libc, and give the
// runtime's own background start-up work (module loading, caches) a moment.
context.lib.openSocket({ hostname: "127.0.0.1", port: 0 }).close();
await new Promise((resolve) => setTimeout(resolve, 100));
let failed = 0;
for (const scenario of scenarios) {
  if (only !== undefined && !only.split("|").includes(scenario.name)) continue;
  const started = performance.now();
  let error: string | undefined;
  try {
    await scenario.run(context);
  } catch (thrown) {
    failed++;
    error = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);
  }
  const ms = Math.round(performance.now() - started);
  process.stdout.write(`@@result ${JSON.stringify({ name: scenario.name, ok: error === undefined, ms, error })}\n`);
}
process.exit(failed === 0 ? 0 : 1);
