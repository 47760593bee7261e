import type { PlatformTable } from "../ffi/_platform.ts";
import { platformTable } from "../ffi/platforms.ts";

const arches: Record<string, string> = { x86_64: "x64", aarch64: "arm64" };

/** The platform table for the running Deno process. */
export function hostPlatform(): PlatformTable {
  return platformTable(Deno.build.os, arches[Deno.build.arch] ?? Deno.build.arch);
}
