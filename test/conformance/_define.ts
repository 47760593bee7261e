import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { type RuntimeId, type RuntimeUnderTest, root, runtimes, runtimeVersion } from "../_runtimes.ts";
import { scenarios } from "./scenarios.ts";

export interface ScenarioResult {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: string;
}

/** Runs the scenario runner on a runtime; resolves with every reported result, exit code and stderr. */
export function runScenarios(
  runtime: RuntimeUnderTest,
): Promise<{ results: Map<string, ScenarioResult>; code: number | null; stderr: string }> {
  const [command, ...args] = runtime.argv(join(root, "test/conformance/runner.ts")) as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const results = new Map<string, ScenarioResult>();
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("@@result ")) continue;
        const result = JSON.parse(line.slice("@@result ".length)) as ScenarioResult;
        results.set(result.name, result);
      }
      resolve({ results, code, stderr });
    });
  });
}

/**
 * Declares the whole conformance suite for one runtime: the runtime runs
 * every scenario in one process, and each scenario becomes a vitest test.
 * A runtime that cannot start fails every one of them.
 */
export function defineConformance(id: RuntimeId): void {
  const runtime = runtimes[id];
  describe(`${id} (${runtimeVersion(runtime)})`, () => {
    let run: { results: Map<string, ScenarioResult>; code: number | null; stderr: string };
    beforeAll(async () => {
      run = await runScenarios(runtime);
    }, 300_000);

    for (const scenario of scenarios) {
      test(scenario.name, () => {
        const result = run.results.get(scenario.name);
        if (result === undefined) throw new Error(`the runtime never reported this scenario; stderr:\n${run.stderr}`);
        if (!result.ok) throw new Error(result.error);
      });
    }

    test("the runtime exits cleanly after reporting every scenario", () => {
      expect(run.results.size).toBe(scenarios.length);
      expect(run.code, run.stderr).toBe(0);
    });
  });
}
