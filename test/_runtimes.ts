// The runtimes the tests and benchmarks run on, as a Node process starts them.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";

/** The four runtimes every public behaviour is tested on. */
export type RuntimeId = "node20" | "node26" | "bun" | "deno";

export interface RuntimeUnderTest {
  readonly id: RuntimeId;
  /** argv that runs a TypeScript file on this runtime. */
  argv(script: string, args?: readonly string[]): string[];
}

/** The repository root. */
export const root: string = new URL("../", import.meta.url).pathname;
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

/** The version a runtime reports ("20.20.2"), to name it in test titles and tables. */
export function runtimeVersion(runtime: RuntimeUnderTest): string {
  const [command, ...args] = runtime.argv("--version") as [string, ...string[]];
  const version = execFileSync(
    command,
    args.filter((a) => a === "--version"),
    { encoding: "utf8" },
  );
  return version.match(/\d+\.\d+\.\d+/)?.[0] ?? version.trim();
}
