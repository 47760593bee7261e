// Bun's raw TCP server (Bun.listen) on the library's socket, answering every
// connection with a fixed HTTP/1.1 response: one worker that runs alone,
// binding its socket, or under `reuseport run` unchanged, serving the
// socket the supervisor hands it. Bun.listen is the Bun server that serves
// an fd (Bun.serve and Bun's node:http ignore one; for Bun.serve, see
// bun-serve.ts and --self-bind).
//
// Under the supervisor (4 workers on port 8080; `reuseport reload` drops no connection):
//   bunx --bun reuseport run -w 4 -p 8080 examples/workers/bun-listen.ts
//   npx reuseport run --runtime bun -w 4 -p 8080 examples/workers/bun-listen.ts
// Alone (port 0 picks a free one):
//   bun examples/workers/bun-listen.ts [port] [hostname]
//   curl http://127.0.0.1:8080/
//
// openSocket() adopts the inherited socket for the address when the process
// has one (without arguments it serves the first one it inherited), and
// binds its own otherwise. Serving an fd with its own server, the app says
// READY=1 itself (notifyReady(), a no-op when alone). On SIGTERM it stops
// listening and lets the connections in progress finish.
import { inheritedSockets, notifyReady, openSocket } from "reuseport";

const inherited = inheritedSockets()[0]?.localAddr;
const port = Number(process.argv[2] ?? inherited?.port ?? 8080);
const hostname = process.argv[3] ?? inherited?.hostname ?? "0.0.0.0";

const { REUSEPORT_SLOT: slot, REUSEPORT_GENERATION: generation } = process.env;
const body = `Bun.listen${slot === undefined ? "" : ` slot ${slot} generation ${generation}`} pid ${process.pid}\n`;
const response = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;

// Bun.listen serves an fd at run time; bun-types does not declare the option.
const listenOnFd = Bun.listen as unknown as (options: {
  fd: number;
  socket: Bun.SocketHandler<undefined>;
}) => Bun.TCPSocketListener<undefined>;

const socket = openSocket({ hostname, port });
const address = socket.localAddr;
let open = 0;
let stopping = false;
const listener = listenOnFd({
  // release(): Bun owns the fd from now on and closes it.
  fd: socket.release(),
  socket: {
    open() {
      open++;
    },
    // One request per connection: answer at its first bytes and close.
    data(client) {
      client.end(response);
    },
    close() {
      open--;
      if (stopping && open === 0) process.exit(0);
    },
  },
});
console.log(`listening on http://${address.hostname}:${address.port} (Bun.listen, pid ${process.pid})`);
notifyReady();

process.once("SIGTERM", () => {
  stopping = true;
  // stop() closes the listening fd (ours only: the supervisor keeps the socket); open connections finish.
  listener.stop();
  if (open === 0) process.exit(0);
});
process.once("SIGINT", () => process.exit(0));
