import { READ_BUFFER_BYTES, RequestCounter, responses, type Workload } from "../_http.ts";
import type { NativeListen } from "./_types.ts";
import { native as nodeNative } from "./node.ts";

/** Writes all of `data`: Deno.Conn.write may take only part of it. */
async function writeAll(conn: Deno.TcpConn, data: Uint8Array): Promise<void> {
  for (let written = 0; written < data.length; ) written += await conn.write(data.subarray(written));
}

/** The same loop as the library's bench server, on a Deno.Conn. */
async function serveConn(conn: Deno.TcpConn, workload: Workload): Promise<void> {
  conn.setNoDelay(true);
  const counter = new RequestCounter();
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const input = buffer.subarray(0, n);
      if (workload === "echo") {
        await writeAll(conn, input);
        continue;
      }
      const requests = counter.count(input);
      if (requests === 0) continue;
      await writeAll(conn, responses(requests, workload));
      // Like the library's server: FIN after the answer, then read to the client's FIN.
      if (workload === "close") await conn.closeWrite();
    }
  } catch {
    // the client went away
  }
  conn.close();
}

export const native: NativeListen = {
  label: "Deno.listen({ reusePort })",
  openClose() {
    Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true }).close();
  },
  serve(workload, fd) {
    // Deno.listen cannot take an fd; Deno's node:net can.
    if (fd !== undefined) return nodeNative.serve(workload, fd);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
    void (async () => {
      for await (const conn of listener) void serveConn(conn, workload);
    })();
    return listener.addr.port;
  },
};
