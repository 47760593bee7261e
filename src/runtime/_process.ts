import type { PlatformTable } from "../ffi/_platform.ts";
import { platformTable } from "../ffi/platforms.ts";

/** The platform table for a runtime that reports itself the Node way (Node, Bun). */
export function hostPlatform(): PlatformTable {
  return platformTable(process.platform, process.arch);
}
