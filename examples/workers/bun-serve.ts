// Bun.serve as a worker of `reuseport run --self-bind`. Bun.serve cannot
// serve an inherited fd (it ignores the option and binds a port of its own),
// so each worker binds the port itself with Bun's reusePort and joins the
// group; the supervisor then owns no socket, and says what that costs: a
// stopping worker closes its socket, and Linux resets the connections still
// queued on it unless net.ipv4.tcp_migrate_req is 1, which the supervisor
// turns on where it may (as root, for its network namespace). Where it can,
// prefer bun-listen.ts, which serves the supervisor's socket.
//
// Under the supervisor (the port goes to both: the workers bind it themselves):
//   bunx --bun reuseport run --self-bind -w 4 -p 8080 examples/workers/bun-serve.ts 8080
//   npx reuseport run --self-bind --runtime bun -w 4 -p 8080 examples/workers/bun-serve.ts 8080
// Alone:
//   bun examples/workers/bun-serve.ts [port] [hostname]
//   curl http://127.0.0.1:8080/
//
// Bun.serve is listening once it returns, so the app says READY=1 then
// (notifyReady(), a no-op when alone). On SIGTERM, stop() stops listening
// and waits for the requests in progress; but it also resets a connection
// it accepted whose request has not arrived yet (seen with Bun 1.4), so a
// reload under load can lose one now and then, beyond what the kernel does.
import { notifyReady } from "reuseport";

const port = Number(process.argv[2] ?? 8080);
const hostname = process.argv[3] ?? "0.0.0.0";

const { REUSEPORT_SLOT: slot, REUSEPORT_GENERATION: generation } = process.env;
const body = `Bun.serve${slot === undefined ? "" : ` slot ${slot} generation ${generation}`} pid ${process.pid}\n`;

const server = Bun.serve({ hostname, port, reusePort: true, fetch: () => new Response(body) });
console.log(`listening on http://${server.hostname}:${server.port} (Bun.serve, pid ${process.pid})`);
notifyReady();

process.once("SIGTERM", () => void server.stop().then(() => process.exit(0)));
process.once("SIGINT", () => process.exit(0));
