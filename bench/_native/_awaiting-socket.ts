// Deno.Conn's read()/write() over a node:net socket with nothing else: no
// read-ahead limit, no streams, no addresses. What any promise-per-read API
// costs on Node at the least, measured beside listen() by bench/http.ts.
import { createServer, type Socket } from "node:net";
import type { AwaitingConn } from "../_http.ts";
import { AwaitingInput } from "./_awaiting-input.ts";

class AwaitingSocket implements AwaitingConn {
  readonly #socket: Socket;
  readonly #input = new AwaitingInput();
  #writers: (() => void)[] = [];
  readonly #written = (): void => {
    if (this.#socket.writableLength !== 0) return;
    for (const resolve of this.#writers.splice(0)) resolve();
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.#input.push(chunk));
    const end = (): void => {
      this.#input.end();
      this.#written();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", () => {});
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#input.read(buffer);
  }

  // Done with `data` when it resolves, as a Deno-style caller expects.
  write(data: Uint8Array): Promise<number> {
    this.#socket.write(data, this.#written);
    if (this.#socket.writableLength === 0) return Promise.resolve(data.length);
    return new Promise((resolve) => this.#writers.push(() => resolve(data.length)));
  }

  closeWrite(): Promise<void> {
    this.#socket.end();
    return Promise.resolve();
  }

  close(): void {
    this.#socket.destroy();
  }

  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay(noDelay);
  }
}

/** net.Server with `listenOptions` (127.0.0.1, an ephemeral port, reusePort where Node has it). */
export function listenAwaitingNet(
  listenOptions: { host: string; port: number; reusePort?: boolean },
  serve: (conn: AwaitingConn) => void,
): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (socket) => serve(new AwaitingSocket(socket)));
  return new Promise((resolve) =>
    server.listen(listenOptions, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    }),
  );
}
