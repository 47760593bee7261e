// A load client in a process of its own: what a real client sees while the
// servers behind one port restart. It runs connection-per-request HTTP/1.1
// (a fresh TCP connection per request, `Connection: close`), so every request
// passes through some listener's accept queue, the place a closing member of
// a reuseport group loses connections. It keeps a steady number of requests
// in flight (a new connection as soon as one ends; with --rate, no faster than
// that) and counts every one that fails, and how: a test in another process
// can then hold the servers to "no request failed", not just "the port
// answered". Runs on Node 20 (`node --import tsx`), Node 26, Bun and Deno.
//
//   client.ts --port P [--host 127.0.0.1] [--concurrency 8] [--duration-ms N]
//             [--max-requests N] [--rate R] [--timeout-ms 10000]
//
// It stops starting requests at the first of: --duration-ms elapsed,
// --max-requests started, or the line "stop" on stdin (without the first two
// only "stop" ends it; end of stdin does not). Then it waits for the requests
// in flight, each bounded by --timeout-ms, and exits 0. The line
// "mark <name>" on stdin records the client's time under that name, so a
// test can place its own events (a restart, a stop) among the samples.
//
// stderr: the line "started" once the first request has succeeded, so a test
// can wait until load is flowing.
// stdout: exactly one JSON line at the end:
//   { "ok": n, "failed": n,
//     "errors": { "ECONNRESET": n, "ECONNREFUSED": n, "timeout": n, "bad-response": n, ... },
//     "bodies": { "<body>": n, ... },
//     "marks": { "<name>": ms, ... },
//     "samples": [[startMs, endMs, "<body>" or "<error>"], ...] }
// A request is ok only with a status line "HTTP/1.x 200", a non-empty body
// and, when the response has content-length, that many bytes of body. A
// failure is named by the socket error's code (ECONNRESET, ECONNREFUSED,
// EPIPE, ...); "timeout" when it did not end within --timeout-ms;
// "empty-response" when the server closed without sending a byte;
// "bad-response" for anything else that is not a whole 200 response.
// samples holds every request, with times in whole milliseconds since the
// client started (marks too), in the order the requests ended.
import { connect } from "node:net";
import process from "node:process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    concurrency: { type: "string", default: "8" },
    "duration-ms": { type: "string" },
    "max-requests": { type: "string" },
    rate: { type: "string" },
    "timeout-ms": { type: "string", default: "10000" },
  },
});

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text.replace(/\/s$/, ""));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${text}`);
  return value;
}

const portFlag = positive("port", values.port);
if (portFlag === undefined) throw new Error("--port is required");
const port: number = portFlag;
const host = values.host;
const concurrency = Math.floor(positive("concurrency", values.concurrency) ?? 8);
const durationMs = positive("duration-ms", values["duration-ms"]);
const maxRequests = positive("max-requests", values["max-requests"]);
const rate = positive("rate", values.rate);
const timeoutMs = positive("timeout-ms", values["timeout-ms"]) ?? 10_000;

const request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
const t0 = performance.now();
const now = (): number => Math.round(performance.now() - t0);

let ok = 0;
let failed = 0;
const errors: Record<string, number> = {};
const bodies: Record<string, number> = {};
const marks: Record<string, number> = {};
const samples: [number, number, string][] = [];

let startedCount = 0;
let inFlight = 0;
let stopping = false;
let announced = false;
let pacer: ReturnType<typeof setTimeout> | undefined;
let finish = (): void => {};
const finished = new Promise<void>((resolve) => {
  finish = resolve;
});

/** The body of a whole 200 response, or why it is not one. */
function judge(bytes: Buffer): { body: string } | { error: string } {
  if (bytes.length === 0) return { error: "empty-response" };
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd === -1) return { error: "bad-response" };
  const head = bytes.subarray(0, headEnd).toString("latin1");
  if (!/^HTTP\/1\.[01] 200(?: |$)/.test(head)) return { error: "bad-response" };
  const body = bytes.subarray(headEnd + 4);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (length !== undefined && body.length !== Number(length)) return { error: "bad-response" };
  if (body.length === 0) return { error: "bad-response" };
  return { body: body.toString("utf8") };
}

function record(startMs: number, outcome: { body: string } | { error: string }): void {
  if ("body" in outcome) {
    ok++;
    bodies[outcome.body] = (bodies[outcome.body] ?? 0) + 1;
    if (!announced) {
      announced = true;
      process.stderr.write("started\n");
    }
  } else {
    failed++;
    errors[outcome.error] = (errors[outcome.error] ?? 0) + 1;
  }
  samples.push([startMs, now(), "body" in outcome ? outcome.body : outcome.error]);
}

/** One request on a fresh connection, read until the server closes it. */
function once(): void {
  startedCount++;
  inFlight++;
  const startMs = now();
  const chunks: Buffer[] = [];
  let error: string | undefined;
  let done = false;
  const socket = connect({ host, port });
  const end = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    const outcome = judge(Buffer.concat(chunks));
    // A whole response counts even if a reset followed it; otherwise the error names the failure.
    record(startMs, "body" in outcome || error === undefined ? outcome : { error });
    inFlight--;
    pump();
  };
  const timer = setTimeout(() => {
    error = "timeout";
    end();
  }, timeoutMs);
  socket.on("connect", () => socket.write(request));
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", (e: Error & { code?: string }) => {
    error ??= e.code ?? e.message;
    end();
  });
  socket.on("close", end);
}

/** Starts requests while there is room: below the concurrency, the limits and (with --rate) the pace. */
function pump(): void {
  if (durationMs !== undefined && performance.now() - t0 >= durationMs) stopping = true;
  if (maxRequests !== undefined && startedCount >= maxRequests) stopping = true;
  while (!stopping && inFlight < concurrency) {
    if (rate !== undefined) {
      const dueMs = (startedCount * 1000) / rate;
      const elapsed = performance.now() - t0;
      if (elapsed < dueMs) {
        if (pacer === undefined) {
          pacer = setTimeout(() => {
            pacer = undefined;
            pump();
          }, dueMs - elapsed);
        }
        break;
      }
    }
    once();
    if (maxRequests !== undefined && startedCount >= maxRequests) stopping = true;
  }
  if (stopping && inFlight === 0) finish();
}

function stop(): void {
  stopping = true;
  if (pacer !== undefined) clearTimeout(pacer);
  pacer = undefined;
  pump();
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const [command, name] = line.trim().split(/\s+/);
  if (command === "stop") stop();
  else if (command === "mark" && name !== undefined) marks[name] = now();
});
const deadline = durationMs === undefined ? undefined : setTimeout(stop, durationMs);

pump();
await finished;
if (deadline !== undefined) clearTimeout(deadline);
lines.close();
const result = { ok, failed, errors, bodies, marks, samples };
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
