// Deno: an HTTP/1.1 responder on a group of four listeners, importing the
// library by URL. Run it from a URL and the relative import below resolves
// against that URL too, so nothing needs installing:
//   deno run --allow-ffi https://<where this repository is served>/examples/deno-server.ts [port]
//   deno run --allow-ffi examples/deno-server.ts [port]        (from a checkout)
// --allow-ffi is the only permission it needs (Deno asks for --allow-import
// when the URL's host is not one it trusts by default).
import { type Conn, listen } from "../mod.ts";

const LISTENERS = 4;
const encoder = new TextEncoder();

/** Answers each request on the connection with the listener's number. */
async function serve(conn: Conn, index: number): Promise<void> {
  const buffer = new Uint8Array(4096);
  const body = `listener ${index}\n`;
  const response = encoder.encode(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  try {
    // One response per read that ends a request head: enough for a demo.
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const text = new TextDecoder().decode(buffer.subarray(0, n));
      for (let at = text.indexOf("\r\n\r\n"); at !== -1; at = text.indexOf("\r\n\r\n", at + 4)) {
        await conn.write(response);
      }
      if (/^connection:\s*close/im.test(text)) break;
    }
  } catch {
    // The client went away.
  }
  conn.close();
}

const first = listen({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 8080) });
const { port } = first.addr;
const listeners = [first, ...Array.from({ length: LISTENERS - 1 }, () => listen({ hostname: "127.0.0.1", port }))];
listeners.forEach(async (listener, index) => {
  for await (const conn of listener) void serve(conn, index);
});
console.log(`listening on http://127.0.0.1:${port} (${LISTENERS} listeners, one port)`);

const stop = (): void => {
  for (const listener of listeners) listener.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
