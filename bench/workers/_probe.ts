// Whether a contender is serving with every worker: requests, one
// connection each, until as many distinct workers (the x-worker header)
// have answered as it should have.
import { connect } from "node:net";
import { sleep } from "./_process.ts";

/** The x-worker header of one answer on a fresh connection; undefined if it failed. */
function askWorker(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let answer = "";
    socket.setTimeout(2000, () => socket.destroy());
    socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      const ok = answer.startsWith("HTTP/1.1 200");
      resolve(ok ? (answer.match(/^x-worker: *(\S+)/im)?.[1] ?? "") : undefined);
    });
  });
}

/** Resolves once `workers` distinct workers have answered; rejects after timeoutMs. */
export async function answeringWorkers(port: number, workers: number, timeoutMs: number): Promise<void> {
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const worker = await askWorker(port);
    if (worker === undefined) await sleep(50);
    else if (seen.add(worker).size >= workers) return;
  }
  throw new Error(`port ${port}: ${seen.size} of ${workers} workers answered within ${timeoutMs} ms`);
}
