// The supervisor's metrics endpoint: just enough HTTP/1.1 for a scrape.
// One request per connection (Connection: close), so there is no
// keep-alive, pipelining or body to handle, and every connection has a
// short, bounded life.
import type { Conn, Listener, ListenOptions, NetAddr } from "../types.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./_prometheus.ts";
import type { MetricsEndpoint } from "./types.ts";

/** Longest request head read; a scrape's is a few hundred bytes. */
const MAX_HEAD_BYTES = 8192;
/** How long a client may take to send its request head. */
const READ_TIMEOUT_MS = 5000;
/** How long a client may take to close after the answer. */
const LINGER_MS = 1000;
/** Connections served at once; one more is closed unanswered, so a flood costs no memory. */
const MAX_OPEN = 16;

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The bound address (the kernel's port when 0 was asked for). */
  readonly addr: NetAddr;
  /** Closes the listening socket and every connection still open. Idempotent. */
  close(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

/** Resolves with `undefined` after `ms`, or when `cancel` is called. */
function timeout(ms: number): { promise: Promise<undefined>; cancel: () => void } {
  let cancel = (): void => {};
  const promise = new Promise<undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    cancel = () => {
      clearTimeout(timer);
      resolve(undefined);
    };
  });
  return { promise, cancel };
}

/**
 * Reads until the blank line that ends the head: the head, "too-large",
 * or undefined when the client ended or timed out first.
 */
async function readHead(conn: Conn, deadline: Promise<undefined>): Promise<string | "too-large" | undefined> {
  const buffer = new Uint8Array(MAX_HEAD_BYTES);
  let length = 0;
  while (length < buffer.length) {
    const n = await Promise.race([conn.read(buffer.subarray(length)), deadline]);
    if (n === undefined || n === null) return undefined;
    // Only the new bytes (and the three before them) can complete the end of the head.
    const from = Math.max(0, length - 3);
    length += n;
    const end = decoder.decode(buffer.subarray(from, length)).search(/\r?\n\r?\n/);
    if (end !== -1) return decoder.decode(buffer.subarray(0, from + end));
  }
  return "too-large";
}

function response(status: string, headers: Record<string, string>, body: string, withBody = true): Uint8Array {
  const bytes = encoder.encode(body);
  const head = Object.entries({ ...headers, "Content-Length": String(bytes.length), Connection: "close" })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  const headBytes = encoder.encode(`HTTP/1.1 ${status}\r\n${head}\r\n`);
  if (!withBody) return headBytes;
  const out = new Uint8Array(headBytes.length + bytes.length);
  out.set(headBytes);
  out.set(bytes, headBytes.length);
  return out;
}

const text = { "Content-Type": "text/plain; charset=utf-8" };

/** The answer to one request head. */
function answer(head: string | "too-large" | undefined, path: string, render: () => string): Uint8Array | undefined {
  if (head === undefined) return undefined;
  if (head === "too-large") return response("431 Request Header Fields Too Large", text, "request head too large\n");
  const requestLine = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(head.split(/\r?\n/, 1)[0] ?? "");
  if (requestLine === null) return response("400 Bad Request", text, "not an HTTP/1.x request\n");
  const [, method, target] = requestLine as unknown as [string, string, string];
  // origin-form ("/metrics?x") or absolute-form ("http://host:port/metrics"), as a proxy sends it.
  const asked = target.replace(/^https?:\/\/[^/]*/i, "").replace(/[?#].*$/, "") || "/";
  if (asked !== path) return response("404 Not Found", text, `not found: the metrics are at ${path}\n`);
  if (method !== "GET" && method !== "HEAD") {
    return response("405 Method Not Allowed", { ...text, Allow: "GET, HEAD" }, "only GET and HEAD\n");
  }
  let body: string;
  try {
    body = render();
  } catch (error) {
    return response("500 Internal Server Error", text, `${error instanceof Error ? error.message : String(error)}\n`);
  }
  return response("200 OK", { "Content-Type": PROMETHEUS_CONTENT_TYPE }, body, method === "GET");
}

/**
 * Answers, half-closes, then waits (briefly) for the client to close
 * first: closing with its input unread would make the kernel reset the
 * connection, and the client could lose the answer. `deadlines` holds the
 * connection's running timer, which closing the server cancels.
 */
async function serve(conn: Conn, path: string, render: () => string, deadlines: Map<Conn, () => void>): Promise<void> {
  const head = timeout(READ_TIMEOUT_MS);
  deadlines.set(conn, head.cancel);
  let reply: Uint8Array | undefined;
  try {
    reply = answer(await readHead(conn, head.promise), path, render);
  } finally {
    head.cancel();
  }
  if (reply === undefined || !deadlines.has(conn)) return;
  await conn.write(reply);
  await conn.closeWrite();
  if (!deadlines.has(conn)) return;
  const linger = timeout(LINGER_MS);
  deadlines.set(conn, linger.cancel);
  const sink = new Uint8Array(1024);
  try {
    while ((await Promise.race([conn.read(sink), linger.promise])) ?? null) {}
  } finally {
    linger.cancel();
  }
}

/**
 * Serves `render()` as Prometheus text on GET/HEAD `endpoint.path`, with a
 * socket of this process's own that joins no SO_REUSEPORT group, so a port
 * another supervisor holds is EADDRINUSE at once. Neither the socket nor
 * its connections keep the process alive.
 *
 * @throws {SocketError} when the socket cannot be opened (EADDRINUSE).
 */
export function serveMetrics(
  listen: (options: ListenOptions) => Listener,
  endpoint: Required<MetricsEndpoint>,
  render: () => string,
): MetricsServer {
  const listener = listen({ hostname: endpoint.hostname, port: endpoint.port, reusePort: false, backlog: 64 });
  listener.unref();
  /** Each open connection and the cancel of its running timer. */
  const open = new Map<Conn, () => void>();
  let closed = false;
  void (async () => {
    for await (const conn of listener) {
      if (closed || open.size >= MAX_OPEN) {
        conn.close();
        continue;
      }
      open.set(conn, () => {});
      conn.unref();
      void serve(conn, endpoint.path, render, open)
        .catch(() => {})
        .finally(() => {
          open.delete(conn);
          conn.close();
        });
    }
  })().catch(() => {});
  return {
    addr: listener.addr,
    close: () => {
      if (closed) return;
      closed = true;
      listener.close();
      for (const [conn, cancel] of open) {
        cancel();
        conn.close();
      }
      open.clear();
    },
  };
}
