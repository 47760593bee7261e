// One benchmark server on the runtime running this file. Prints its port.
//   _http-server.ts <native|library-fd|library-native|library-accept4> <keepalive|close|echo>
// native: the runtime's own listener; library-fd: the runtime's own server on
// an openSocket() fd; library-native / library-accept4: listen() and Conn's
// read()/write().
import type { Conn } from "../src/node.ts";
import { loadForRuntime, runtimeName } from "../test/conformance/_library.ts";
import { READ_BUFFER_BYTES, RequestCounter, responses, type Workload } from "./_http.ts";
import type { NativeListen } from "./_native/_types.ts";

const [variant = "native", workload = "keepalive"] = process.argv.slice(2) as [string, Workload];

/** Serves one connection with Conn.read()/write(), the Deno.Conn-style path that builds no stream. */
async function serveConn(conn: Conn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  const counter = new RequestCounter();
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const input = buffer.subarray(0, n);
      if (workload === "echo") {
        // write() is done with the buffer when it resolves, so the next read may reuse it.
        await conn.write(input);
        continue;
      }
      const requests = counter.count(input);
      if (requests === 0) continue;
      await conn.write(responses(requests, workload));
      // Reads to the end even after answering "close": the client's FIN is what frees the socket.
      if (workload === "close") await conn.closeWrite();
    }
  } catch {
    conn.close();
  }
}

let port: number;
if (variant === "native") {
  const { native } = (await import(`./_native/${runtimeName()}.ts`)) as { native: NativeListen };
  port = await native.serve(workload);
} else if (variant === "library-fd") {
  const { lib } = await loadForRuntime();
  const { native } = (await import(`./_native/${runtimeName()}.ts`)) as { native: NativeListen };
  const socket = lib.openSocket({ hostname: "127.0.0.1", port: 0 });
  port = socket.localAddr.port;
  await native.serve(workload, socket.release());
} else {
  const { lib } = await loadForRuntime();
  const engine = variant === "library-accept4" ? "accept4" : "native";
  const listener = lib.listen({ hostname: "127.0.0.1", port: 0, engine });
  port = listener.addr.port;
  void (async () => {
    for await (const conn of listener) void serveConn(conn);
  })();
}
process.stdout.write(`${port}\n`);
