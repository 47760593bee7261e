import { watchReadable } from "../ffi/node.ts";
import type { RuntimeAdapter } from "./_adapter.ts";
import { processActivation } from "./_process.ts";
import { adoptNetFd, serveNetFd } from "./node-net.ts";

export { hostPlatform } from "./_process.ts";

/** Node: net.Server and net.Socket on fds, readiness on the libuv loop. */
export const nodeAdapter: RuntimeAdapter = {
  serveNative: serveNetFd,
  adopt: adoptNetFd,
  watchReadable: () => watchReadable,
  unrefTimer: (timer) => {
    timer.unref();
  },
  activation: processActivation,
};
