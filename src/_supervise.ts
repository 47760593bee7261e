import type { Api } from "./_api.ts";
import { nodeProcessHost } from "./runtime/node-process.ts";
import { supervise } from "./supervisor/supervisor.ts";
import type { SuperviseOptions, Supervisor, WorkerRuntime } from "./supervisor/types.ts";

/** `supervise()` for one runtime entry, over that entry's libc binding. */
export function superviseWith(api: Api, runtime: WorkerRuntime): (options: SuperviseOptions) => Supervisor {
  return (options) =>
    supervise(
      {
        sys: api.sys,
        openSocket: api.openSocket,
        watchReadable: () => api.watchReadable,
        host: nodeProcessHost(runtime),
      },
      options,
    );
}
