// The minimal HTTP/1.1 responder every benchmark server shares, so the
// library and each runtime's own listener run the same per-request work.

/** What a benchmark server does with each connection. */
export type Workload = "keepalive" | "close" | "echo";

/**
 * The read buffer a Deno.Conn-style server (Deno.listen's, and listen()'s)
 * allocates per connection. Small, because it is allocated and zeroed for
 * every connection; the same size on both sides so neither pays more.
 */
export const READ_BUFFER_BYTES: number = 4 * 1024;

/** The response to every request: small and fixed, so the transport is what is measured. */
export const RESPONSE: Uint8Array = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok",
);

/** Counts complete requests (header blocks ending in CRLF CRLF) across chunk boundaries. */
export class RequestCounter {
  #matched = 0;

  /** How many requests end inside this chunk. */
  count(chunk: Uint8Array): number {
    let requests = 0;
    for (const byte of chunk) {
      const expected = this.#matched % 2 === 0 ? 13 : 10;
      if (byte === expected) {
        this.#matched++;
        if (this.#matched === 4) {
          requests++;
          this.#matched = 0;
        }
      } else {
        this.#matched = byte === 13 ? 1 : 0;
      }
    }
    return requests;
  }
}

/** The response for the "close" workload: it says so, and the client closes after it. */
export const CLOSE_RESPONSE: Uint8Array = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nok",
);

/**
 * `n` responses in one buffer, so pipelined requests cost one write; for the
 * "close" workload, the one response before the connection closes.
 */
export function responses(n: number, workload?: Workload): Uint8Array {
  if (workload === "close") return CLOSE_RESPONSE;
  if (n === 1) return RESPONSE;
  const out = new Uint8Array(RESPONSE.length * n);
  for (let i = 0; i < n; i++) out.set(RESPONSE, i * RESPONSE.length);
  return out;
}

/** The part of Deno.Conn a Deno.Conn-style server uses; listen()'s Conn has it too. */
export interface AwaitingConn {
  read(buffer: Uint8Array): Promise<number | null>;
  /** May take only part of `data` (Deno.Conn does): resolves with what it took. */
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
}

/**
 * Serves one connection Deno.Conn-style: read into one buffer, answer with
 * an awaited write. The loop every promise-per-read server in the bench runs,
 * the library's and Deno.listen's alike.
 */
export async function serveAwaiting(conn: AwaitingConn, workload: Workload): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  const counter = new RequestCounter();
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      let out: Uint8Array = buffer.subarray(0, n);
      if (workload !== "echo") {
        const requests = counter.count(out);
        if (requests === 0) continue;
        out = responses(requests, workload);
      }
      // The write is done with the buffer when it resolves, so the next read may reuse it. Deno's may be short.
      for (let written = await conn.write(out); written < out.length; ) {
        written += await conn.write(out.subarray(written));
      }
      // FIN after the answer, then read to the client's FIN, which is what frees the socket.
      if (workload === "close") await conn.closeWrite();
    }
  } catch {
    // the client went away
  }
  conn.close();
}
