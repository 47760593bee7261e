// What the self-bound test workers share: a thread kept busy, and one
// HTTP answer per connection.
import type { Conn } from "../../src/node.ts";

/** Keeps the thread working for `ms`: nothing else runs, accept included. */
export function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Working.
  }
}

/**
 * Reads the request head, works `workMs`, answers with `response`, then
 * half-closes and reads until the client's FIN, so the client closes first.
 */
export async function answerOnce(conn: Conn, response: Uint8Array, workMs: number): Promise<void> {
  const buffer = new Uint8Array(4096);
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) return;
    head += new TextDecoder().decode(buffer.subarray(0, n));
  }
  if (workMs > 0) busy(workMs);
  await conn.write(response);
  await conn.closeWrite();
  while ((await conn.read(buffer)) !== null) {
    // Until the client's FIN.
  }
}
