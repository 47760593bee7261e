// The library's listen() as a benchmark worker, on any runtime, with the
// engine it picks by default (epoll on Linux):
//   listen.ts inherited      the socket `reuseport run` hands it (listen() adopts it and says ready)
//   listen.ts port <port>    a socket of its own, alone
// Each connection is read Deno.Conn-style into a buffer of its own; every
// whole request (header block) gets the response, and a request asking for
// `connection: close` ends the connection after it.
import process from "node:process";
import type { Conn } from "../../../src/types.ts";
import { loadForRuntime } from "../../../test/conformance/_library.ts";
import { RequestCounter } from "../../_http.ts";
import { asksClose, burn, isSlow, rawResponse, SLOW_MS } from "./_respond.ts";

const [mode = "port", portText = "0"] = process.argv.slice(2);
const { lib } = await loadForRuntime();
const inherited = mode === "inherited" ? lib.inheritedSockets()[0]?.localAddr : undefined;
if (mode === "inherited" && inherited === undefined) throw new Error("inherited: no socket was handed to this process");
const listener = lib.listen({ hostname: "127.0.0.1", port: inherited?.port ?? Number(portText) });
const keepAlive = rawResponse(process.pid, false);
const close = rawResponse(process.pid, true);
process.stdout.write(`listening ${listener.engine}\n`);

async function serve(conn: Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  const counter = new RequestCounter();
  let closing: boolean | undefined;
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return;
      const chunk = buffer.subarray(0, n);
      closing ??= asksClose(chunk);
      if (isSlow(chunk)) burn(SLOW_MS);
      const requests = counter.count(chunk);
      for (let i = 0; i < requests; i++) await conn.write(closing ? close : keepAlive);
      if (closing && requests > 0) return;
    }
  } finally {
    conn.close();
  }
}

for await (const conn of listener) void serve(conn).catch(() => {});
