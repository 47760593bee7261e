// Scenarios whose promise depends on net.ipv4.tcp_migrate_req, run on each
// runtime inside a network namespace made for the run, with it turned on
// there (never on the host).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import type { ScenarioResult } from "./conformance/_define.ts";

const names = [
  "supervisor: scale 4 → 2 → 4 under load: new slots serve, and nothing fails, with tcp_migrate_req or without",
];

describe.each(["node20", "node26", "bun", "deno"] as RuntimeId[])("%s with tcp_migrate_req=1", (id) => {
  test("scaling down moves the removed slot's queue to the others: no request fails", () => {
    const argv = runtimes[id].argv(join(root, "test/conformance/runner.ts"), [names.join("|")]);
    const run = spawnSync(
      "unshare",
      ["-n", "sh", "-c", 'ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=1 && exec "$@"', "sh", ...argv],
      { cwd: root, encoding: "utf8", timeout: 120_000 },
    );
    const results = run.stdout
      .split("\n")
      .filter((line) => line.startsWith("@@result "))
      .map((line) => JSON.parse(line.slice("@@result ".length)) as ScenarioResult);
    expect(results.map((r) => r.name)).toEqual(names);
    for (const result of results) expect(result.ok, result.error).toBe(true);
    const figure = run.stdout.split("\n").find((line) => line.startsWith("# scale"));
    expect(figure).toContain("tcp_migrate_req=1");
    console.log(`${id}: ${figure}`);
    expect(run.status, run.stderr).toBe(0);
  }, 120_000);
});
