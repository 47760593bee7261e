import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, test } from "vitest";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";

test("npm start's demo prints how 1,000 connections spread over 4 listeners (Node 20)", () => {
  const [command, ...args] = runtimes.node20.argv(join(root, "examples/spread.ts")) as [string, ...string[]];
  const output = execFileSync(command, args, { cwd: root, encoding: "utf8", timeout: 60_000 });
  const rows = [...output.matchAll(/^#(\d)\s+\d+\s+(\d+)\s+[\d.]+%\s+█+$/gm)];
  expect(
    rows.map((row) => row[1]),
    output,
  ).toEqual(["0", "1", "2", "3"]);
  const counts = rows.map((row) => Number(row[2]));
  expect(counts.reduce((a, b) => a + b, 0)).toBe(1000);
  for (const count of counts) expect(count, output).toBeGreaterThan(100);
});

const dnsEcho = join(root, "examples/dns-echo/launch.ts");
// The permissions the example's header names (--allow-read narrowed), not --allow-all.
const denoFlags = ["--no-prompt", "--allow-ffi", "--allow-read=mod.ts,src", "--allow-run", "--allow-env"];
const runtimeNames: Record<RuntimeId, string> = { node20: "Node 20", node26: "Node 26", bun: "Bun", deno: "Deno" };

for (const id of ["node20", "node26", "bun", "deno"] as const) {
  test(`examples/dns-echo: 4 worker processes on one UDP port answer 400 DNS queries, each a share (${runtimeNames[id]})`, () => {
    const argv = runtimes[id].argv(dnsEcho).flatMap((arg) => (arg === "--allow-all" ? denoFlags : [arg]));
    const [command, ...args] = argv as [string, ...string[]];
    const run = spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: 20_000 });
    const output = `${run.stdout}${run.stderr}${run.error ? String(run.error) : ""}`;
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/^400 of 400 queries answered\.$/m);
    const rows = [...run.stdout.matchAll(/^#(\d)\s+(\d+)\s+(\d+)\s+[\d.]+%\s+█*$/gm)];
    expect(
      rows.map((row) => row[1]),
      output,
    ).toEqual(["0", "1", "2", "3"]);
    expect(new Set(rows.map((row) => row[2])).size, "4 distinct worker pids").toBe(4);
    const counts = rows.map((row) => Number(row[3]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(400);
    for (const count of counts) expect(count, output).toBeGreaterThan(40);
  });
}

const reloadDemo = join(root, "examples/reload-demo.ts");

// The demo's promise is the supervisor scenarios' on every runtime; here it
// runs as a reader would start it, on the two quickest to start.
for (const id of ["node26", "bun"] as const) {
  test(`examples/reload-demo.ts: 5 reloads of 2 supervised workers under load, 0 failed requests (${runtimeNames[id]})`, () => {
    const [command, ...args] = runtimes[id].argv(reloadDemo) as [string, ...string[]];
    const run = spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: 50_000 });
    const output = `${run.stdout}${run.stderr}${run.error ? String(run.error) : ""}`;
    expect(run.status, output).toBe(0);
    const summary = /^(\d+) requests across 5 reloads: (\d+) failed$/m.exec(run.stdout);
    expect(summary, output).not.toBeNull();
    expect(Number(summary?.[2]), output).toBe(0);
    expect(Number(summary?.[1]), output).toBeGreaterThan(500);
    // Every generation, the first and the five reloads', served a share.
    const generations = [...run.stdout.matchAll(/^ {2}generation (\d+): (\d+)$/gm)];
    expect(
      generations.map((g) => Number(g[1])),
      output,
    ).toEqual([1, 2, 3, 4, 5, 6]);
    for (const g of generations) expect(Number(g[2]), output).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/^stopped: every worker stopped cleanly$/m);
    console.log(`reload-demo on ${runtimeNames[id]}: ${summary?.[0]}`);
  }, 60_000);
}
