// Bun: the library's socket served by Bun.listen, and Bun.serve with its own
// reusePort, in one SO_REUSEPORT group: requests to the port are spread over
// both, because the kernel groups sockets, not libraries.
//   bun examples/bun-servers.ts [port]
//   curl http://127.0.0.1:8080/
import { openSocket } from "reuseport";

const socket = openSocket({ hostname: "127.0.0.1", port: Number(process.argv[2] ?? 8080) });
const { port } = socket.localAddr;

// Bun.listen serves an fd at run time; bun-types does not declare the option.
const listenOnFd = Bun.listen as unknown as (options: {
  fd: number;
  socket: Bun.SocketHandler<undefined>;
}) => Bun.TCPSocketListener<undefined>;

const body = "Bun.listen on a reuseport fd\n";
const listener = listenOnFd({
  fd: socket.release(),
  socket: {
    // A minimal HTTP/1.1 answer, one request per connection.
    data(client) {
      client.end(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    },
  },
});
const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  reusePort: true,
  fetch: () => new Response("Bun.serve in the same group\n"),
});
console.log(`listening on http://127.0.0.1:${port} (Bun.listen on the library's fd + Bun.serve, one group)`);

const stop = (): void => {
  listener.stop(true);
  void server.stop(true);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
