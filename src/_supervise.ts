import type { Api } from "./_api.ts";
import { nodeProcessHost } from "./runtime/node-process.ts";
import { openSocket as openOwnSocket } from "./socket/open.ts";
import { supervise } from "./supervisor/supervisor.ts";
import type { SuperviseOptions, Supervisor, WorkerRuntime } from "./supervisor/types.ts";

/** `supervise()` for one runtime entry, over that entry's libc binding. */
export function superviseWith(api: Api, runtime: WorkerRuntime): (options: SuperviseOptions) => Supervisor {
  return (options) =>
    supervise(
      {
        sys: api.sys,
        openSocket: api.openSocket,
        openOwnSocket: (options) => openOwnSocket(api.sys(), options),
        inheritedSockets: api.inheritedSockets,
        notifyReady: api.notifyReady,
        watchReadable: () => api.watchReadable,
        host: nodeProcessHost(runtime),
      },
      options,
    );
}
