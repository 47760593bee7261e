// An unchanged Deno app in the form `deno serve` takes: a default export
// with a fetch handler (`deno serve --parallel --port <port> deno-unchanged.ts`).
// deno-unchanged-run.ts serves the same handler with Deno.serve, for
// `deno run`. It imports nothing of reuseport, and answers "ok" with the
// x-worker header the load generator counts.
import { WORKER_HEADER } from "./_respond.ts";

// `deno serve --parallel` runs its workers as threads of one process, an
// isolate each: the pid alone cannot tell them apart, so each isolate adds
// a tag of its own (this module runs once per isolate).
const worker = `${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;
const headers = { "content-type": "text/plain", [WORKER_HEADER]: worker };

export default {
  fetch(): Response {
    return new Response("ok", { headers });
  },
} satisfies Deno.ServeDefaultExport;
