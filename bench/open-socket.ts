// µs per openSocket()+close() on Node 20, Node 26, Bun and Deno, against each
// runtime's own listen+close in the same run. Run: npm run bench
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type RuntimeId, root, runtimes, runtimeVersion } from "../test/_runtimes.ts";
import { exitCodeFor } from "./_driver.ts";

const TARGET_US = 20;
const TARGET_RATIO = 2;

interface Measurement {
  library: number;
  native: number;
  nativeLabel: string;
}

const rows: string[] = [];
let missed = 0;
for (const id of Object.keys(runtimes) as RuntimeId[]) {
  const runtime = runtimes[id];
  // Deno keeps reusePort on its own listener behind --unstable-net.
  const argv = runtime.argv(join(root, "bench/_open-socket.worker.ts"));
  if (id === "deno") argv.splice(2, 0, "--unstable-net");
  const [command, ...args] = argv as [string, ...string[]];
  const m = JSON.parse(execFileSync(command, args, { cwd: root, encoding: "utf8" })) as Measurement;
  const ratio = m.library / m.native;
  const ok = m.library <= TARGET_US && ratio <= TARGET_RATIO;
  if (!ok) missed++;
  rows.push(
    `| ${id} (${runtimeVersion(runtime)}) | ${m.library.toFixed(1)} | ${m.native.toFixed(1)} | ${m.nativeLabel} | ${ratio.toFixed(2)}× | ${ok ? "yes" : "NO"} |`,
  );
}

console.log(`openSocket({ hostname: "127.0.0.1", port: 0 }) + close(), median of 7 rounds of 1,000`);
console.log(`targets: ≤ ${TARGET_US} µs per socket and ≤ ${TARGET_RATIO}× the runtime's own listen\n`);
console.log("| runtime | openSocket+close µs | native listen+close µs | native | ratio | on target |");
console.log("|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
process.exitCode = exitCodeFor(missed);
