// An unchanged Bun app as Bun's docs write it: a default export that Bun
// serves itself, on PORT (which `reuseport run` sets; the preload, with
// --self-bind, binds it with reusePort on the served address). It imports
// nothing of reuseport, and answers "ok" with the x-worker header the load
// generator counts.
import { WORKER_HEADER } from "./_respond.ts";

const headers = { "content-type": "text/plain", [WORKER_HEADER]: String(process.pid) };

export default {
  fetch(): Response {
    return new Response("ok", { headers });
  },
};
