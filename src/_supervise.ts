import type { Api } from "./_api.ts";
import type { RuntimeAdapter } from "./runtime/_adapter.ts";
import { listen } from "./runtime/_listener.ts";
import { nodeProcessHost } from "./runtime/node-process.ts";
import { openSocket as openOwnSocket } from "./socket/open.ts";
import { supervise } from "./supervisor/supervisor.ts";
import type { SuperviseOptions, Supervisor, WorkerRuntime } from "./supervisor/types.ts";

/**
 * The preload for a worker runtime, beside this module: src/preload/<runtime>.ts
 * in the sources (Node 20 workers then need a TypeScript loader, as for a .ts
 * app), dist/preload/<runtime>.js in the package, where this module is bundled
 * into dist/<entry>.js. CommonJS has no import.meta: no preload there.
 */
function preloadModule(runtime: WorkerRuntime): string | undefined {
  const here = import.meta.url as string | undefined;
  if (here === undefined) return undefined;
  const url = new URL(`./preload/${runtime}.${here.endsWith(".ts") ? "ts" : "js"}`, here);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

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
        preload: preloadModule,
      },
      options,
    );
}
