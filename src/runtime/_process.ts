import type { ActivationHost } from "../activation/inherited.ts";
import type { PlatformTable } from "../ffi/_platform.ts";
import { platformTable } from "../ffi/platforms.ts";

/** The platform table for a runtime that reports itself the Node way (Node, Bun). */
export function hostPlatform(): PlatformTable {
  return platformTable(process.platform, process.arch);
}

/** Socket activation's view of a runtime with Node's `process` (Node, Bun). */
export const processActivation: ActivationHost = {
  env: (name) => process.env[name],
  pid: () => process.pid,
  onTerminate: (handler) => {
    // A signal listener does not keep the process alive on Node or Bun.
    process.on("SIGTERM", handler);
    return () => {
      process.off("SIGTERM", handler);
    };
  },
};
