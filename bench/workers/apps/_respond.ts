// What every JavaScript worker of the benchmark answers, whatever its
// server: a fixed body naming the worker (the load generator counts each
// worker's share from it) and, for a request for /slow, 50 ms of CPU first:
// the mixed workload's heavy request.

/** CPU a request for /slow burns before it is answered, ms. */
export const SLOW_MS = 50;

/** The header naming the worker that answered, counted by the load generator. */
export const WORKER_HEADER = "x-worker";

/** Keeps this thread busy for `ms`, as a CPU-heavy handler would. */
export function burn(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
}

const encoder = new TextEncoder();

/** The raw HTTP/1.1 response of the servers that write bytes themselves, for keep-alive and for close. */
export function rawResponse(pid: number, close: boolean): Uint8Array {
  return encoder.encode(
    `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n${WORKER_HEADER}: ${pid}\r\n` +
      `${close ? "connection: close\r\n" : ""}\r\nok`,
  );
}

const CLOSE = encoder.encode("onnection: close");
const SLOW = encoder.encode("GET /slow ");

/** Whether `bytes` holds `pattern` (a request's first chunk is short: a plain scan is enough). */
function includes(bytes: Uint8Array, pattern: Uint8Array): boolean {
  outer: for (let i = 0; i + pattern.length <= bytes.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return true;
  }
  return false;
}

/** Whether a request asks to close the connection after its answer (the load generator sends the header as written here). */
export const asksClose = (request: Uint8Array): boolean => includes(request, CLOSE);

/** Whether a request is for /slow. */
export const isSlow = (request: Uint8Array): boolean =>
  request.length >= SLOW.length && SLOW.every((byte, i) => request[i] === byte);
