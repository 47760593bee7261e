// Deno.serve as a worker of `reuseport run --self-bind`. Deno.serve cannot
// serve an inherited fd, so each worker binds the port itself with Deno's
// reusePort (behind --unstable-net in Deno 2.9) and joins the group; the
// supervisor then owns no socket, and says what that costs: a stopping
// worker closes its socket, and Linux resets the connections still queued
// on it unless net.ipv4.tcp_migrate_req is 1, which the supervisor turns on
// where it may (as root, for its network namespace). Where it can, prefer
// node-http.ts (Deno's node:http serves the supervisor's socket) or listen.ts.
//
// Under the supervisor (the port goes to both: the workers bind it themselves):
//   deno run -A cli.ts run --self-bind --runtime deno --runtime-args "--allow-net --unstable-net" -w 4 -p 8080 examples/workers/deno-serve.ts 8080
// Alone:
//   deno run --unstable-net --allow-net --allow-ffi --allow-env examples/workers/deno-serve.ts [port] [hostname]
//   curl http://127.0.0.1:8080/
//
// Deno.serve is listening at onListen, so the app says READY=1 then
// (notifyReady(), a no-op when alone). On SIGTERM, shutdown() stops
// listening and waits for the requests in progress; but it also closes,
// unanswered, a connection it accepted whose request has not arrived yet
// (seen with Deno 2.9), so a reload under load can lose one now and then,
// beyond what the kernel does.
import { notifyReady } from "../../mod.ts";

const port = Number(Deno.args[0] ?? 8080);
const hostname = Deno.args[1] ?? "0.0.0.0";

const slot = Deno.env.get("REUSEPORT_SLOT");
const body = `Deno.serve${slot === undefined ? "" : ` slot ${slot} generation ${Deno.env.get("REUSEPORT_GENERATION")}`} pid ${Deno.pid}\n`;

const server = Deno.serve(
  {
    hostname,
    port,
    reusePort: true,
    onListen: (addr) => {
      console.log(`listening on http://${addr.hostname}:${addr.port} (Deno.serve, pid ${Deno.pid})`);
      notifyReady();
    },
  },
  () => new Response(body),
);

Deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => Deno.exit(0)));
Deno.addSignalListener("SIGINT", () => Deno.exit(0));
