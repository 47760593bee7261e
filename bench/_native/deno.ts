import { RequestCounter, responses, type Workload } from "../_http.ts";
import type { NativeListen } from "./_types.ts";
import { native as nodeNative } from "./node.ts";

async function serveConn(conn: Deno.TcpConn, workload: Workload): Promise<void> {
  conn.setNoDelay(true);
  if (workload === "echo") {
    await conn.readable.pipeTo(conn.writable).catch(() => {});
    return;
  }
  const counter = new RequestCounter();
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const read = await conn.read(buffer);
      if (read === null) break;
      const n = counter.count(buffer.subarray(0, read));
      if (n === 0) continue;
      const out = responses(n, workload);
      for (let written = 0; written < out.length; ) written += await conn.write(out.subarray(written));
      if (workload === "close") break;
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
