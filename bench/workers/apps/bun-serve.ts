// Bun.serve with Bun's own reusePort as a benchmark worker, started by hand:
//   bun bun-serve.ts <port>
import { burn, SLOW_MS, WORKER_HEADER } from "./_respond.ts";

const headers = { "content-type": "text/plain", [WORKER_HEADER]: String(process.pid) };
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  reusePort: true,
  fetch(request) {
    if (request.url.endsWith("/slow")) burn(SLOW_MS);
    return new Response("ok", { headers });
  },
});
process.stdout.write(`listening ${server.port}\n`);
process.once("SIGTERM", () => void server.stop().then(() => process.exit(0)));
