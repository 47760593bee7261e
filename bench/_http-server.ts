// One benchmark server on the runtime running this file. Prints its port.
//   _http-server.ts <native|floor|library-fd|library-native|library-accept4|library-epoll> <keepalive|close|echo>
// native: the runtime's own listener; floor: the same listener served
// Deno.Conn-style with no library (bench/_native); library-fd: the runtime's
// own server on an openSocket() fd; library-native / -accept4 / -epoll:
// listen() with that engine, and Conn's read()/write().
import { loadForRuntime, runtimeName } from "../test/conformance/_library.ts";
import { serveAwaiting, type Workload } from "./_http.ts";
import type { NativeListen } from "./_native/_types.ts";

const [variant = "native", workload = "keepalive"] = process.argv.slice(2) as [string, Workload];

const { native } = (await import(`./_native/${runtimeName()}.ts`)) as { native: NativeListen };
let port: number;
if (variant === "native") {
  port = await native.serve(workload);
} else if (variant === "floor") {
  port = await native.listenAwaiting((conn) => void serveAwaiting(conn, workload));
} else if (variant === "library-fd") {
  const { lib } = await loadForRuntime();
  const socket = lib.openSocket({ hostname: "127.0.0.1", port: 0 });
  port = socket.localAddr.port;
  await native.serve(workload, socket.release());
} else {
  const { lib } = await loadForRuntime();
  const engine = variant === "library-accept4" ? "accept4" : variant === "library-epoll" ? "epoll" : "native";
  const listener = lib.listen({ hostname: "127.0.0.1", port: 0, engine });
  port = listener.addr.port;
  void (async () => {
    for await (const conn of listener) void serveAwaiting(conn, workload);
  })();
}
process.stdout.write(`${port}\n`);
