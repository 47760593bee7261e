// Deno.serve with Deno's own reusePort (behind --unstable-net) as a
// benchmark worker, started by hand:  deno run -A --unstable-net deno-serve.ts <port>
import { burn, SLOW_MS, WORKER_HEADER } from "./_respond.ts";

const headers = { "content-type": "text/plain", [WORKER_HEADER]: String(Deno.pid) };
const server = Deno.serve(
  {
    hostname: "127.0.0.1",
    port: Number(Deno.args[0] ?? 0),
    reusePort: true,
    onListen: ({ port }) => console.log(`listening ${port}`),
  },
  (request) => {
    if (request.url.endsWith("/slow")) burn(SLOW_MS);
    return new Response("ok", { headers });
  },
);
Deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => Deno.exit(0)));
