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
