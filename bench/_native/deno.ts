import { serveAwaiting } from "../_http.ts";
import type { NativeListen } from "./_types.ts";
import { native as nodeNative } from "./node.ts";

function listenAwaiting(serve: (conn: Deno.TcpConn) => void): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
  void (async () => {
    for await (const conn of listener) serve(conn);
  })();
  return listener.addr.port;
}

export const native: NativeListen = {
  label: "Deno.listen({ reusePort })",
  openClose() {
    Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true }).close();
  },
  serve(workload, fd) {
    // Deno.listen cannot take an fd; Deno's node:net can.
    if (fd !== undefined) return nodeNative.serve(workload, fd);
    return listenAwaiting((conn) => void serveAwaiting(conn, workload));
  },
  // Deno.Conn is the promise-per-read API: the floor is the baseline itself.
  listenAwaiting,
};
