// The runtimes the conformance suite runs on, as the vitest (Node) side starts them.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";

export type RuntimeId = "node20" | "node26" | "bun" | "deno";

export interface RuntimeUnderTest {
  readonly id: RuntimeId;
  /** argv that runs a TypeScript file on this runtime. */
  argv(script: string, args?: readonly string[]): string[];
}

const root = new URL("../../", import.meta.url).pathname;
const require = createRequire(import.meta.url);

/**
 * The machine's own Node (20 here): npm records the node that runs it; npm
 * scripts put node_modules/.bin (where Node 26 lives) first on PATH, so PATH
 * is searched without node_modules folders.
 */
function machineNode(): string {
  const fromNpm = process.env.npm_node_execPath;
  if (fromNpm && !fromNpm.includes("node_modules")) return fromNpm;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error("no Node.js found on PATH outside node_modules");
}

function bin(name: string): string {
  return join(root, "node_modules", ".bin", name);
}

export const runtimes: Record<RuntimeId, RuntimeUnderTest> = {
  // Node 20 cannot run TypeScript itself: tsx's loader does.
  node20: { id: "node20", argv: (script, args = []) => [machineNode(), "--import", "tsx", script, ...args] },
  node26: {
    id: "node26",
    argv: (script, args = []) => [require.resolve(`node-linux-${process.arch}/bin/node`), script, ...args],
  },
  bun: { id: "bun", argv: (script, args = []) => [bin("bun"), script, ...args] },
  deno: { id: "deno", argv: (script, args = []) => [bin("deno"), "run", "--allow-all", "--quiet", script, ...args] },
};

/** `<runtime> --version` of a runtime, to name it in test titles. */
export function runtimeVersion(runtime: RuntimeUnderTest): string {
  const [command, ...args] = runtime.argv("--version") as [string, ...string[]];
  const version = execFileSync(
    command,
    args.filter((a) => a === "--version"),
    { encoding: "utf8" },
  );
  return version.trim().split("\n")[0] ?? "";
}

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
