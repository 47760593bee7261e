// One benchmark server on the runtime running this file. Prints its port,
// and for listen() the engine it runs, on its first line.
//   _http-server.ts <native|floor|library-fd|library-native|library-accept4|library-epoll|library-default> <keepalive|close|echo>
// native: the runtime's own listener; floor: the same listener served
// Deno.Conn-style with no library (bench/_native); library-fd: the runtime's
// own server on an openSocket() fd; library-native / -accept4 / -epoll:
// listen() with that engine, and Conn's read()/write(); library-default:
// listen() with no engine option, as most callers will use it.
import { loadForRuntime, runtimeName } from "../test/conformance/_library.ts";
import { serveAwaiting, type Workload } from "./_http.ts";
import type { NativeListen } from "./_native/_types.ts";

const [variant = "native", workload = "keepalive"] = process.argv.slice(2) as [string, Workload];

const { native } = (await import(`./_native/${runtimeName()}.ts`)) as { native: NativeListen };
let port: number;
/** The engine listen() runs, for the table; none for the runtime's own servers. */
let used = "";
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
  const engines: Partial<Record<string, "native" | "accept4" | "epoll">> = {
    "library-native": "native",
    "library-accept4": "accept4",
    "library-epoll": "epoll",
  };
  const engine = engines[variant];
  if (engine === undefined && variant !== "library-default") throw new Error(`unknown variant ${variant}`);
  // No engine key at all for library-default: the default is what is measured.
  const listener = lib.listen(
    engine === undefined ? { hostname: "127.0.0.1", port: 0 } : { hostname: "127.0.0.1", port: 0, engine },
  );
  port = listener.addr.port;
  used = listener.engine;
  void (async () => {
    for await (const conn of listener) void serveAwaiting(conn, workload);
  })();
}
process.stdout.write(used === "" ? `${port}\n` : `${port} ${used}\n`);
