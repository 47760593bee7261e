import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, test } from "vitest";
import { root, runtimes } from "./_runtimes.ts";

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
