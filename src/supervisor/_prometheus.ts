import { formatHostPort } from "../socket/_ip.ts";
import type { NetAddr } from "../types.ts";
import type { WorkerInfo, WorkerState } from "./types.ts";

/** What the text is made of: a supervisor's status, as its control socket answers `status`. */
export interface SupervisorStatus {
  readonly name: string;
  readonly generation: number;
  readonly slots: number;
  readonly workers: readonly WorkerInfo[];
}

/** The media type of the text exposition format, as a scrape expects it. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The states a live worker can be in (an exited one is no longer listed). */
const states: readonly WorkerState[] = ["starting", "ready", "stopping"];

/** A label value, escaped as the text exposition format asks (backslash, quote, newline). */
function label(value: string | number): string {
  return `"${String(value).replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

function address(addr: NetAddr): string {
  return `${addr.transport} ${formatHostPort(addr.hostname, addr.port)}`;
}

/**
 * A supervisor's status in Prometheus's text exposition format (version
 * 0.0.4): what `reuseport status --prometheus` prints and what the
 * supervisor's own metrics endpoint serves. One series per worker and per
 * slot socket, labelled by supervisor name, slot and address.
 */
export function formatPrometheus(status: SupervisorStatus): string {
  const { name, generation, workers } = status;
  const families = new Map<string, { help: string; type: string; samples: string[] }>();
  const sample = (
    metric: string,
    help: string,
    type: string,
    labels: Record<string, string | number>,
    value: number,
  ) => {
    let family = families.get(metric);
    if (family === undefined) {
      family = { help, type, samples: [] };
      families.set(metric, family);
    }
    const text = Object.entries({ name, ...labels })
      .map(([key, v]) => `${key}=${label(v)}`)
      .join(",");
    family.samples.push(`${metric}{${text}} ${value}`);
  };
  sample("reuseport_generation", "The supervisor's current generation (reloads so far + 1).", "gauge", {}, generation);
  sample("reuseport_slots", "Worker slots: the workers the supervisor keeps running.", "gauge", {}, status.slots);
  // Every state, zeros too, so that a series does not vanish while no worker is in it.
  for (const state of states) {
    const count = workers.filter((w) => w.state === state).length;
    sample("reuseport_workers", "Live workers (both generations during a reload) by state.", "gauge", { state }, count);
  }
  for (const w of workers) {
    const worker = { slot: w.slot, pid: w.pid, generation: w.generation, runtime: w.runtime, state: w.state };
    sample("reuseport_worker_info", "A worker process: 1 per worker, its state in the labels.", "gauge", worker, 1);
    sample("reuseport_worker_uptime_seconds", "Seconds since the worker started.", "gauge", worker, w.uptimeMs / 1000);
    sample(
      "reuseport_worker_crash_looping",
      "1 while the worker's slot fails too often to be trusted.",
      "gauge",
      { slot: w.slot, pid: w.pid },
      w.crashLooping ? 1 : 0,
    );
  }
  // Restarts and sockets belong to slots: one series per slot, however many generations run.
  const slots = new Map(workers.map((w) => [w.slot, w]));
  for (const [slot, w] of slots) {
    sample(
      "reuseport_slot_restarts_total",
      "Restarts of the slot's worker after a failure.",
      "counter",
      { slot },
      w.restarts,
    );
    for (const socket of w.sockets ?? []) {
      const labels = { slot, address: address(socket.addr) };
      if (socket.queued !== undefined) {
        sample(
          "reuseport_socket_queued",
          "Connections waiting for accept(2) (TCP_INFO).",
          "gauge",
          labels,
          socket.queued,
        );
        // A self-bound worker's own socket has no backlog the supervisor can read.
        if (socket.backlog !== undefined) {
          sample("reuseport_socket_backlog", "The accept queue's limit.", "gauge", labels, socket.backlog);
        }
      }
      if (socket.queuedBytes !== undefined) {
        sample(
          "reuseport_socket_queued_bytes",
          "Bytes of datagrams waiting to be read.",
          "gauge",
          labels,
          socket.queuedBytes,
        );
        sample(
          "reuseport_socket_drops_total",
          "Datagrams the kernel dropped on the socket.",
          "counter",
          labels,
          socket.drops ?? 0,
        );
      }
    }
  }
  const lines: string[] = [];
  for (const [metric, family] of families) {
    lines.push(`# HELP ${metric} ${family.help}`, `# TYPE ${metric} ${family.type}`, ...family.samples);
  }
  return `${lines.join("\n")}\n`;
}
