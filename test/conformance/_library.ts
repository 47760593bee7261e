import type { Host } from "../hosts/_types.ts";

/** The library's public surface; every runtime entry exports the same names. */
export type Library = typeof import("../../src/node.ts");

/** Which runtime this process is. Detection lives in tests only; the library uses export conditions. */
export function runtimeName(): Host["runtime"] {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

const entries: Record<Host["runtime"], string> = {
  node: "../../src/node.ts",
  bun: "../../src/bun.ts",
  deno: "../../mod.ts",
};

/** Imports the library the way a user of this runtime would get it, and this runtime's host helpers. */
export async function loadForRuntime(): Promise<{ lib: Library; host: Host }> {
  const runtime = runtimeName();
  const lib = (await import(entries[runtime])) as Library;
  const { host } = (await import(`../hosts/${runtime}.ts`)) as { host: Host };
  return { lib, host };
}
