// One benchmark server on the runtime running this file. Prints its port.
//   _http-server.ts <native|library-fd|library-native|library-accept4> <keepalive|close|echo>
// native: the runtime's own listener; library-fd: the runtime's own server on
// an openSocket() fd; library-native / library-accept4: listen() and Conn.
import type { Conn } from "../src/node.ts";
import { loadForRuntime, runtimeName } from "../test/conformance/_library.ts";
import { RequestCounter, responses, type Workload } from "./_http.ts";
import type { NativeListen } from "./_native/_types.ts";

const [variant = "native", workload = "keepalive"] = process.argv.slice(2) as [string, Workload];

async function serveConn(conn: Conn): Promise<void> {
  conn.setNoDelay(true);
  if (workload === "echo") {
    await conn.readable.pipeTo(conn.writable).catch(() => conn.close());
    return;
  }
  const counter = new RequestCounter();
  const writer = conn.writable.getWriter();
  let closing = false;
  try {
    // Reads to the end even after answering "close": the client's FIN is what frees the socket.
    for await (const chunk of conn.readable) {
      const n = counter.count(chunk);
      if (n === 0 || closing) continue;
      await writer.write(responses(n, workload));
      if (workload === "close") {
        closing = true;
        await writer.close();
      }
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
