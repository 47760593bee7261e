import { type AwaitingConn, RequestCounter, responses } from "../_http.ts";
import { AwaitingInput } from "./_awaiting-input.ts";
import type { NativeListen } from "./_types.ts";

type Handlers = Bun.SocketHandler<RequestCounter | undefined>;
type AwaitingHandlers = Bun.SocketHandler<AwaitingBunSocket | undefined>;
// Bun.listen honours reusePort at run time; bun-types declares it for Bun.connect only.
// It also serves an fd, which bun-types does not declare either.
const listen = Bun.listen as unknown as <Data>(
  options:
    | { hostname: string; port: number; reusePort: boolean; socket: Bun.SocketHandler<Data> }
    | { fd: number; socket: Bun.SocketHandler<Data> },
) => Bun.TCPSocketListener<Data>;

/**
 * Deno.Conn's read()/write() over a Bun socket with nothing else: no
 * read-ahead limit, no streams, no addresses. What any promise-per-read API
 * costs on Bun at the least, measured beside listen() by bench/http.ts.
 */
class AwaitingBunSocket implements AwaitingConn {
  readonly #socket: Bun.Socket<AwaitingBunSocket | undefined>;
  readonly #input = new AwaitingInput();
  #drained: (() => void) | undefined;

  constructor(socket: Bun.Socket<AwaitingBunSocket | undefined>) {
    this.#socket = socket;
  }

  onData(chunk: Uint8Array): void {
    this.#input.push(chunk);
  }

  onEnd(): void {
    this.#input.end();
    this.onDrain();
  }

  onDrain(): void {
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#input.read(buffer);
  }

  // Bun sends what the kernel takes and keeps nothing: like Deno.Conn, a short write says how much went.
  write(data: Uint8Array): Promise<number> {
    const written = this.#socket.write(data);
    if (written < 0) return Promise.reject(new Error("the socket is closed"));
    if (written > 0) return Promise.resolve(written);
    return new Promise((resolve) => {
      this.#drained = () => resolve(0);
    });
  }

  closeWrite(): Promise<void> {
    this.#socket.shutdown();
    return Promise.resolve();
  }

  close(): void {
    this.#socket.end();
  }

  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay(noDelay);
  }
}

const awaitingHandlers = (serve: (conn: AwaitingConn) => void): AwaitingHandlers => ({
  open(socket) {
    const conn = new AwaitingBunSocket(socket);
    socket.data = conn;
    serve(conn);
  },
  data: (socket, chunk) => socket.data?.onData(chunk),
  end: (socket) => socket.data?.onEnd(),
  close: (socket) => socket.data?.onEnd(),
  drain: (socket) => socket.data?.onDrain(),
});

export const native: NativeListen = {
  label: "Bun.listen({ reusePort })",
  openClose() {
    listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket: { data() {} } }).stop(true);
  },
  serve(workload, fd) {
    const socket: Handlers = {
      open(s) {
        s.setNoDelay(true);
        s.data = new RequestCounter();
      },
      data(s, chunk) {
        if (workload === "echo") {
          s.write(chunk);
          return;
        }
        const n = s.data?.count(chunk) ?? 0;
        if (n === 0) return;
        if (workload === "close") s.end(responses(n, workload));
        else s.write(responses(n, workload));
      },
    };
    if (fd !== undefined) {
      listen({ fd, socket });
      return 0;
    }
    return listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket }).port;
  },
  listenAwaiting(serve) {
    return listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket: awaitingHandlers(serve) }).port;
  },
};
