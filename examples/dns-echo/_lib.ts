// Loads the reuseport entry for the runtime this process runs on: the
// files the package's export conditions pick ("node", "bun", "deno"), here
// taken from the source tree. Not run by itself; see launch.ts.
//
// The specifier is computed so that neither a type checker nor Deno follows
// the entries of the other runtimes; on Deno that is why the example needs
// --allow-read (for the one file imported this way, and what it imports).
import type * as Reuseport from "../../src/node.ts";

export type Library = typeof Reuseport;
export type Runtime = "node" | "bun" | "deno";

interface RuntimeGlobals {
  Deno?: { version: { deno: string } };
  Bun?: { version: string };
}
const globals = globalThis as RuntimeGlobals;

/** The runtime this process is. */
export const runtime: Runtime = globals.Deno ? "deno" : globals.Bun ? "bun" : "node";

/** The runtime and its version, to print ("bun 1.2.3"). */
export function runtimeLabel(): string {
  if (globals.Deno) return `deno ${globals.Deno.version.deno}`;
  if (globals.Bun) return `bun ${globals.Bun.version}`;
  return `node ${process.version.slice(1)}`;
}

const entries: Record<Runtime, string> = {
  node: "../../src/node.ts",
  bun: "../../src/bun.ts",
  deno: "../../mod.ts",
};

/** The library, as a user of this runtime would import it. */
export async function loadLibrary(): Promise<Library> {
  return (await import(entries[runtime])) as Library;
}
