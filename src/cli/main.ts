import type { PortReport } from "../inspect/inspect.ts";
import { formatHostPort } from "../socket/_ip.ts";
import type { ProcessHost } from "../supervisor/_host.ts";
import { formatPrometheus, type SupervisorStatus } from "../supervisor/_prometheus.ts";
import type { SuperviseOptions, Supervisor, SupervisorEvent, WorkerInfo } from "../supervisor/types.ts";
import { parseRun, UsageError } from "./_args.ts";
import { MAIN_HELP, RUN_HELP } from "./_help.ts";
import { formatInspect } from "./_inspect.ts";

/** What the command needs: a way to start a supervisor, and the runtime. */
export interface CliDeps {
  readonly supervise: (options: SuperviseOptions) => Supervisor;
  readonly inspectPort: (port: number) => PortReport;
  readonly host: ProcessHost;
}

/** A request over the control socket. */
type ControlRequest =
  | { command: "status" }
  | { command: "reload" }
  | { command: "scale"; workers: number }
  | { command: "stop" };

function describe(event: SupervisorEvent): string {
  const who = "slot" in event && "pid" in event ? `slot ${event.slot} pid ${event.pid} gen ${event.generation}: ` : "";
  switch (event.type) {
    case "started":
      return `${who}started`;
    case "ready":
      return `${who}ready in ${event.ms} ms`;
    case "not-ready":
      return `${who}not ready after ${event.ms} ms, killed`;
    case "exited": {
      const how = event.signal ? `by ${event.signal}` : `with code ${event.code}`;
      const when = event.expected ? "" : event.beforeReady ? " (unexpected, before it was ready)" : " (unexpected)";
      return `${who}exited ${how}${when}${event.status === undefined || event.expected ? "" : `: ${event.status}`}`;
    }
    case "status":
      return `${who}${event.message}`;
    case "restarting":
      return `slot ${event.slot}: restarting in ${event.delayMs} ms`;
    case "crash-loop":
      return `slot ${event.slot}: crash-looping (${event.failures} failures within ${event.windowMs / 1000} s); still retrying, its socket keeps its queue`;
    case "reload":
      return `reloading: starting generation ${event.generation}`;
    case "reloaded":
      return `reloaded: generation ${event.generation} serving (${event.ms} ms)`;
    case "reload-failed":
      return `reload failed: ${event.reason}`;
    case "scaled":
      return `scaled from ${event.from} to ${event.to} workers`;
    case "stalled":
      return `slot ${event.slot}: stalled (${event.queued} connection(s) waiting on ${formatHostPort(event.addr.hostname, event.addr.port)} for ${event.ms} ms, none accepted); new connections go to the other slots`;
    case "unstalled":
      return `slot ${event.slot}: accepting again on ${formatHostPort(event.addr.hostname, event.addr.port)}; it gets new connections again`;
    case "stopping":
      return `stopping${event.signal ? ` on ${event.signal}` : ""}`;
    case "stopped":
      return event.clean ? "stopped: every worker stopped cleanly" : "stopped: some workers had to be killed or failed";
    case "notice":
      return event.message;
  }
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** The `reuseport status` table. */
export function formatStatus(name: string, generation: number, slots: number, workers: readonly WorkerInfo[]): string {
  // The cpu column only for pinned workers (run --pin).
  const pinned = workers.some((w) => w.cpu !== undefined);
  const rows = [
    ["slot", "pid", "gen", "runtime", "state", "uptime", "restarts", ...(pinned ? ["cpu"] : []), "queue"],
    ...workers.map((w) => [
      String(w.slot),
      String(w.pid),
      String(w.generation),
      w.runtime,
      w.crashLooping ? `${w.state} (crash loop)` : w.state,
      formatUptime(w.uptimeMs),
      String(w.restarts),
      ...(pinned ? [w.cpu === undefined ? "-" : String(w.cpu)] : []),
      // Waiting connections and the limit per socket of the slot, as ss -lt shows them; UDP has none.
      (w.sockets ?? [])
        .map((s) => {
          const queue =
            s.queued !== undefined
              ? // A self-bound worker's own socket: its place in the group, and no backlog the supervisor can read.
                s.member !== undefined
                ? `${s.queued} (member ${s.member})`
                : `${s.queued}/${s.backlog}`
              : s.queuedBytes !== undefined
                ? `${s.queuedBytes}B`
                : "-";
          // Steered past: stalled, a longer queue under "queue", or retiring.
          return s.steeredTo === false ? `${queue} (skipped)` : queue;
        })
        .join(" "),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  const idle = Array.from({ length: slots }, (_, i) => i).filter((slot) => !workers.some((w) => w.slot === slot));
  const waiting = idle.map((slot) => `slot ${slot}: no worker (waiting to restart)\n`).join("");
  return `${name}: generation ${generation}, ${workers.length} workers\n${lines.join("\n")}\n${waiting}`;
}

async function run(argv: readonly string[], deps: CliDeps): Promise<number> {
  const request = parseRun(argv);
  const { host } = deps;
  if (request.help) {
    host.writeStdout(RUN_HELP);
    return 0;
  }
  const controlPath = `${host.privateDir()}/${request.name}.sock`;
  const running = await host.askControl(controlPath, { command: "status" }).catch(() => undefined);
  if (running !== undefined) {
    throw new UsageError(
      `a supervisor named "${request.name}" is already running (see reuseport status ${request.name}); pick another with --name`,
    );
  }
  const say = (text: string): void => host.writeStdout(`reuseport: ${text}\n`);
  let supervisor: Supervisor;
  try {
    supervisor = deps.supervise({
      ...request.options,
      name: request.name,
      signals: true,
      onEvent: (event) => say(describe(event)),
    });
  } catch (error) {
    // The options came from the command line: a bad one is a usage error.
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  say(
    `${request.name}: serving ${supervisor.addresses.map((a) => `${a.transport} ${a.hostname}:${a.port}`).join(", ")} with ${supervisor.workers().length} workers (supervisor pid ${host.pid})`,
  );
  const metrics = supervisor.metricsAddr;
  if (metrics !== undefined) {
    say(
      `metrics at http://${formatHostPort(metrics.hostname, metrics.port)}${request.options.metrics?.path ?? "/metrics"}`,
    );
  }
  const control = await host.serveControl(controlPath, async (raw) => {
    const asked = raw as ControlRequest;
    switch (asked.command) {
      case "status":
        return {
          name: request.name,
          generation: supervisor.generation,
          slots: supervisor.slots,
          workers: supervisor.workers(),
        };
      case "reload":
        return await supervisor.reload();
      case "scale":
        await supervisor.scale(asked.workers);
        return { workers: supervisor.workers().length };
      case "stop":
        void supervisor.stop();
        return { stopping: true };
      default:
        throw new Error(`unknown command ${JSON.stringify((asked as { command?: unknown }).command)}`);
    }
  });
  const clean = await supervisor.stopped;
  control.close();
  return clean ? 0 : 1;
}

async function control(verb: string, argv: readonly string[], deps: CliDeps): Promise<number> {
  const { host } = deps;
  const json = argv.includes("--json");
  const prometheus = argv.includes("--prometheus");
  const words = argv.filter((a) => a !== "--json" && a !== "--prometheus");
  if (prometheus && verb !== "status") throw new UsageError("--prometheus goes with status only");
  let request: ControlRequest;
  let name: string | undefined;
  if (verb === "scale") {
    const workers = Number(words[0]);
    if (!Number.isInteger(workers) || workers < 1)
      throw new UsageError(`scale takes a number of workers, got "${words[0] ?? ""}"`);
    request = { command: "scale", workers };
    name = words[1];
  } else {
    request = { command: verb as "status" | "reload" | "stop" };
    name = words[0];
  }
  const dir = host.privateDir();
  if (name === undefined) {
    // One supervisor of this user running: it is the one meant.
    const running = host.listDir(dir).filter((f) => f.endsWith(".sock"));
    if (running.length !== 1) {
      throw new UsageError(
        running.length === 0
          ? "no supervisor of this user is running"
          : `${running.length} supervisors are running (${running.map((f) => f.slice(0, -5)).join(", ")}): name one`,
      );
    }
    name = (running[0] as string).slice(0, -5);
  }
  const path = `${dir}/${name}.sock`;
  let answer: unknown;
  try {
    answer = await host.askControl(path, request);
  } catch (error) {
    host.writeStderr(`reuseport: no supervisor named "${name}" answers at ${path}: ${(error as Error).message}\n`);
    return 1;
  }
  const failed = typeof answer === "object" && answer !== null && "error" in answer;
  if (json || failed) {
    host.writeStdout(`${JSON.stringify(answer)}\n`);
  } else if (verb === "status" && prometheus) {
    host.writeStdout(formatPrometheus(answer as SupervisorStatus));
  } else if (verb === "status") {
    const status = answer as { name: string; generation: number; slots: number; workers: WorkerInfo[] };
    host.writeStdout(formatStatus(status.name, status.generation, status.slots, status.workers));
  } else if (verb === "reload") {
    const result = answer as { ok: boolean; generation: number; reason?: string };
    host.writeStdout(result.ok ? `reloaded: generation ${result.generation}\n` : `reload failed: ${result.reason}\n`);
  } else {
    host.writeStdout(`${JSON.stringify(answer)}\n`);
  }
  return failed || (verb === "reload" && !(answer as { ok: boolean }).ok) ? 1 : 0;
}

/** `reuseport inspect <port> [--json]`: every socket on the port, grouped, and what is wrong. */
function inspect(argv: readonly string[], deps: CliDeps): number {
  const json = argv.includes("--json");
  const words = argv.filter((a) => a !== "--json");
  const port = Number(words[0]);
  if (words.length !== 1 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`inspect takes one port (1–65535), got "${words.join(" ")}"`);
  }
  const report = deps.inspectPort(port);
  deps.host.writeStdout(json ? `${JSON.stringify(report)}\n` : formatInspect(report));
  return 0;
}

/** Runs `reuseport <argv>`; resolves with the exit status. */
export async function main(argv: readonly string[], deps: CliDeps): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
      deps.host.writeStdout(MAIN_HELP);
      return verb === undefined ? 2 : 0;
    }
    if (verb === "run") return await run(rest, deps);
    if (verb === "status" || verb === "reload" || verb === "scale" || verb === "stop")
      return await control(verb, rest, deps);
    if (verb === "inspect") return inspect(rest, deps);
    throw new UsageError(`unknown command "${verb}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      deps.host.writeStderr(`reuseport: ${error.message}\nRun "reuseport --help" for usage.\n`);
      return 2;
    }
    deps.host.writeStderr(`reuseport: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
