import type { PlatformTable } from "../ffi/_platform.ts";
import { platformTable } from "../ffi/platforms.ts";

/** The platform table for the running Node.js (or Node-compatible) process. */
export function hostPlatform(): PlatformTable {
  return platformTable(process.platform, process.arch);
}
