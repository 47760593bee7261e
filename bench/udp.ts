// UDP echo, datagrams per second, on Node 20, Node 26, Bun and Deno: each
// runtime's own UDP socket with reusePort against listenDatagram(), with one
// and two sockets in the group (in one server process), driven by
// bench/udp-load.c (compiled here with cc).
// Run: npm run bench:udp [runtime…]
import { execFileSync } from "node:child_process";
import { type RuntimeId, runtimes, runtimeVersion } from "../test/_runtimes.ts";
import { compileC, exitCodeFor, median, onCpu, pinned, selectedRuntimes, startServer, stop } from "./_driver.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
/** Rounds per cell, the variants interleaved in each; the median is reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Sending sockets, each on its own source port, so the kernel's hash spreads them over the group. */
const FLOWS = Number(process.env.BENCH_FLOWS ?? 64);
/**
 * Datagrams in flight per flow. 64 × 4 fills one socket's default receive
 * queue (net.core.rmem_default, 208 KiB: ~256 small datagrams) without
 * overflowing it; more in flight would only be dropped and resent.
 */
const WINDOW = Number(process.env.BENCH_WINDOW ?? 4);
const PAYLOAD = Number(process.env.BENCH_PAYLOAD ?? 64);
const TARGET = 1.0;
const groupSizes = [1, 2] as const;
const variants = ["native", "library"] as const;
type Variant = (typeof variants)[number];

/** What a server said it measures, per runtime and group size, or why it could not run. */
const labels = new Map<string, string>();

function measure(port: number, udpLoad: string): number {
  const argv = [udpLoad, String(port), String(FLOWS), String(SECONDS), String(PAYLOAD), String(WINDOW)];
  const [command, ...args] = onCpu(1, argv) as [string, ...string[]];
  const output = execFileSync(command, args, { encoding: "utf8" });
  const rate = output.match(/Datagrams\/sec:\s+([\d.]+)/);
  const counts = output.match(/sent (\d+), received (\d+), lost (\d+), stale (\d+)/);
  if (!rate || !counts) throw new Error(`no rate in:\n${output}`);
  // A few hundred lost while a server warms up are normal; a steady loss is worth seeing.
  const [, sent = 0, , lost = 0, stale = 0] = counts.map(Number);
  if (lost + stale > sent * 0.01) console.error(output.trim());
  return Number(rate[1]);
}

/** One cell: each variant's rate (median of the rounds), undefined where the runtime cannot make the group. */
async function cell(id: RuntimeId, sockets: number, udpLoad: string): Promise<Record<Variant, number | undefined>> {
  const samples: Record<Variant, number[] | undefined> = { native: [], library: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) {
      if (samples[variant] === undefined) continue;
      const { line, child } = await startServer(id, "_udp-server.ts", [variant, String(sockets)]);
      try {
        const [first = "", ...rest] = line.split(" ");
        labels.set(`${id} ${variant} ${sockets}`, rest.join(" "));
        if (first === "unavailable") samples[variant] = undefined;
        else samples[variant]?.push(measure(Number(first), udpLoad));
      } finally {
        await stop(child);
      }
    }
  }
  const rate = (values: number[] | undefined): number | undefined => (values ? median(values) : undefined);
  return { native: rate(samples.native), library: rate(samples.library) };
}

const udpLoad = compileC("udp-load.c");
const ids = selectedRuntimes();
const rows: string[] = [];
let missed = 0;
for (const id of ids) {
  const version = runtimeVersion(runtimes[id]);
  for (const sockets of groupSizes) {
    const { native, library = 0 } = await cell(id, sockets, udpLoad);
    let libraryCell = String(Math.round(library));
    if (native !== undefined) {
      const ratio = library / native;
      if (ratio < TARGET) missed++;
      libraryCell += ` (${ratio.toFixed(2)}×${ratio < TARGET ? " ✗" : ""})`;
    }
    const nativeCell = native === undefined ? "—" : String(Math.round(native));
    const row = `| ${id} ${version} | ${sockets} | ${nativeCell} | ${libraryCell} |`;
    console.log(row);
    rows.push(row);
  }
}
console.log(
  `\n${FLOWS} flows × ${WINDOW} datagrams in flight, ${PAYLOAD}-byte payloads, median of ${ROUNDS} interleaved rounds of ${SECONDS} s per cell, on 127.0.0.1, driven by bench/udp-load.c${pinned ? "; server on CPU 0, load on CPU 1" : ""}`,
);
console.log("datagrams echoed per second, and the ratio to the runtime's own UDP socket");
console.log(`target: listenDatagram() ≥ ${TARGET.toFixed(1)}× the runtime's own socket (✗ marks a miss; — : no group)`);
for (const id of ids) {
  for (const sockets of groupSizes) console.log(`  ${id}, ${sockets}: ${labels.get(`${id} native ${sockets}`)}`);
}
console.log(
  "\n| runtime | sockets | runtime's own socket, datagrams/s | listenDatagram(), receiveMany() + sendMany(), datagrams/s |",
);
console.log("|---|---|---|---|");
for (const row of rows) console.log(row);
process.exitCode = exitCodeFor(missed);
