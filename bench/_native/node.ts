import { createServer } from "node:net";
import { RequestCounter, responses } from "../_http.ts";
import { listenAwaitingNet } from "./_awaiting-socket.ts";
import type { NativeListen } from "./_types.ts";

// net.Server gained reusePort in Node 22.12 / 23.1; older versions ignore the option.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const hasReusePort = major > 22 || (major === 22 && minor >= 12);
const reusePort = hasReusePort ? { reusePort: true } : {};

export const native: NativeListen = {
  label: hasReusePort ? "net.Server listen({ reusePort })" : "net.Server listen() (no reusePort here)",
  openClose: () =>
    new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port: 0, ...reusePort }, () => server.close(() => resolve()));
    }),
  serve: (workload, fd) =>
    new Promise<number>((resolve) => {
      const server = createServer((socket) => {
        socket.setNoDelay(true);
        if (workload === "echo") {
          socket.pipe(socket);
          return;
        }
        const counter = new RequestCounter();
        socket.on("data", (chunk: Buffer) => {
          const n = counter.count(chunk);
          if (n === 0) return;
          if (workload === "close") socket.end(responses(n, workload));
          else socket.write(responses(n, workload));
        });
        socket.on("error", () => {});
      });
      if (fd !== undefined) {
        server.listen({ fd }, () => resolve(0));
        return;
      }
      server.listen({ host: "127.0.0.1", port: 0, ...reusePort }, () => {
        const address = server.address();
        resolve(typeof address === "object" && address ? address.port : 0);
      });
    }),
  listenAwaiting: (serve) => listenAwaitingNet({ host: "127.0.0.1", port: 0, ...reusePort }, serve),
};
