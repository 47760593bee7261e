import type { Api } from "./_api.ts";
import type { RuntimeAdapter } from "./runtime/_adapter.ts";
import { listen } from "./runtime/_listener.ts";
import { nodeProcessHost } from "./runtime/node-process.ts";
import { openSocket as openOwnSocket } from "./socket/open.ts";
import { supervise } from "./supervisor/supervisor.ts";
import type { SuperviseOptions, Supervisor, WorkerRuntime } from "./supervisor/types.ts";

/** `supervise()` for one runtime entry, over that entry's libc binding and runtime adapter. */
export function superviseWith(
  api: Api,
  adapter: RuntimeAdapter,
  runtime: WorkerRuntime,
): (options: SuperviseOptions) => Supervisor {
  return (options) =>
    supervise(
      {
        sys: api.sys,
        openSocket: api.openSocket,
        openOwnSocket: (options) => openOwnSocket(api.sys(), options),
        inheritedSockets: api.inheritedSockets,
        notifyReady: api.notifyReady,
        watchReadable: () => api.watchReadable,
        // No inheritance: the metrics socket is never one handed over for the workers.
        listen: (options) => listen(api.sys(), adapter, options),
        host: nodeProcessHost(runtime),
      },
      options,
    );
}
