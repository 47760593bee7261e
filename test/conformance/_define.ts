import { beforeAll, describe, expect, test } from "vitest";
import { type RuntimeId, runScenarios, runtimes, runtimeVersion, type ScenarioResult } from "./_runtimes.ts";
import { scenarios } from "./scenarios.ts";

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
