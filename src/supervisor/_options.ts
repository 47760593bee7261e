import { parseHost } from "../socket/_ip.ts";
import type { OwnerPolicy } from "../steer/balancer.ts";
import type { GroupAddress, MetricsEndpoint, SuperviseOptions, WorkerCommand, WorkerRuntime } from "./types.ts";

/** The options with every default filled in, checked before anything starts. */
export interface ResolvedSuperviseOptions {
  readonly command: ResolvedCommand;
  readonly workers: number;
  readonly listen: readonly Required<GroupAddress>[];
  readonly selfBind: boolean;
  readonly tcpMigrateReq: boolean;
  readonly steer: OwnerPolicy;
  readonly sharedSocket: boolean;
  /** How often queues are sampled for "queue" and "stall-aware". */
  readonly steerIntervalMs: number;
  /** How long a queue must stay non-empty without shrinking to count as stalled. */
  readonly stallMs: number;
  readonly pin: boolean;
  readonly graceMs: number;
  readonly readyTimeoutMs: number;
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly cwd: string | undefined;
  readonly crashLoopFailures: number;
  readonly crashLoopWindowMs: number;
  readonly name: string;
  readonly metrics: Required<MetricsEndpoint> | undefined;
}

export interface ResolvedCommand {
  readonly app: string;
  readonly args: readonly string[];
  readonly runtime: WorkerRuntime;
  readonly executable: string | undefined;
  readonly runtimeArgs: readonly string[];
  readonly preload: boolean;
}

/** Queues sampled every 5 ms: a few system calls per slot, against connections that wait behind a busy worker. */
const DEFAULT_STEER_INTERVAL_MS = 5;
/** A worker that accepts nothing for 100 ms while connections wait is stalled (a long GC pause or a blocking call). */
const DEFAULT_STALL_MS = 100;

const runtimes: readonly WorkerRuntime[] = ["node", "bun", "deno"];
const knownKeys = new Set([
  "app",
  "args",
  "runtime",
  "executable",
  "runtimeArgs",
  "preload",
  "workers",
  "listen",
  "selfBind",
  "tcpMigrateReq",
  "steer",
  "sharedSocket",
  "pin",
  "graceMs",
  "readyTimeoutMs",
  "env",
  "cwd",
  "crashLoopFailures",
  "crashLoopWindowMs",
  "signals",
  "metrics",
  "name",
  "onEvent",
  "onOutput",
]);

function strings(value: unknown, name: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new TypeError(`${name} must be an array of strings`);
  }
  return value;
}

function positiveInteger(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}

/** Checks a command (the options' own, or a reload's changes on top of `base`). */
export function resolveCommand(
  command: Partial<WorkerCommand>,
  base: ResolvedCommand | undefined,
  defaultRuntime: WorkerRuntime,
): ResolvedCommand {
  const app = command.app ?? base?.app;
  if (typeof app !== "string" || app === "")
    throw new TypeError("app must be a non-empty string: the script workers run");
  const runtime = command.runtime ?? base?.runtime ?? defaultRuntime;
  if (!runtimes.includes(runtime))
    throw new TypeError(`runtime must be one of ${runtimes.join(", ")}, got ${String(runtime)}`);
  const executable = command.executable ?? (command.runtime === undefined ? base?.executable : undefined);
  if (executable !== undefined && (typeof executable !== "string" || executable === "")) {
    throw new TypeError("executable must be a non-empty string");
  }
  const preload = command.preload ?? base?.preload ?? true;
  if (typeof preload !== "boolean") throw new TypeError(`preload must be a boolean, got ${JSON.stringify(preload)}`);
  return {
    app,
    preload,
    args: command.args === undefined ? (base?.args ?? []) : strings(command.args, "args"),
    runtime,
    executable,
    runtimeArgs:
      command.runtimeArgs === undefined
        ? command.runtime === undefined
          ? (base?.runtimeArgs ?? [])
          : []
        : strings(command.runtimeArgs, "runtimeArgs"),
  };
}

function resolveAddress(address: GroupAddress, index: number, selfBind: boolean): Required<GroupAddress> {
  if (typeof address !== "object" || address === null) throw new TypeError(`listen[${index}] must be an object`);
  const transport = address.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "udp") {
    throw new TypeError(`listen[${index}].transport must be "tcp" or "udp", got ${String(transport)}`);
  }
  const hostname = address.hostname ?? "0.0.0.0";
  if (typeof hostname !== "string") throw new TypeError(`listen[${index}].hostname must be a string`);
  const port = address.port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`listen[${index}].port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  if (selfBind && port === 0)
    throw new RangeError("with selfBind, every port must be given: the workers bind it themselves");
  return { transport, hostname, port };
}

const policies: readonly OwnerPolicy[] = ["hash", "cpu", "queue", "stall-aware"];

/** `steer` as a policy name or `{ policy, intervalMs?, stallMs? }`. */
function resolveSteer(value: SuperviseOptions["steer"]): { policy: OwnerPolicy; intervalMs: number; stallMs: number } {
  const given = typeof value === "object" && value !== null ? value : { policy: value ?? "hash" };
  if (!policies.includes(given.policy as OwnerPolicy)) {
    throw new TypeError(
      `steer must be one of ${policies.map((p) => `"${p}"`).join(", ")}, got ${JSON.stringify(value)}`,
    );
  }
  for (const key of Object.keys(given)) {
    if (key !== "policy" && key !== "intervalMs" && key !== "stallMs")
      throw new TypeError(`unknown steer option "${key}"`);
  }
  return {
    policy: given.policy,
    intervalMs: positiveInteger(given.intervalMs, "steer.intervalMs", DEFAULT_STEER_INTERVAL_MS),
    stallMs: positiveInteger(given.stallMs, "steer.stallMs", DEFAULT_STALL_MS),
  };
}

/** The app's name as `reuseport status` knows it: its file name without extension. */
export function defaultName(app: string): string {
  const base = app.split("/").pop() ?? app;
  return base.replace(/\.[^.]*$/, "") || "app";
}

const metricsKeys = new Set(["hostname", "port", "path"]);

/**
 * The metrics endpoint. The path is matched byte for byte against the
 * request target, so it must be one a client sends unchanged: absolute,
 * printable ASCII, no spaces, no query or fragment.
 */
function resolveMetrics(metrics: MetricsEndpoint | undefined): Required<MetricsEndpoint> | undefined {
  if (metrics === undefined) return undefined;
  if (typeof metrics !== "object" || metrics === null) {
    throw new TypeError("metrics must be an object ({ port, hostname?, path? })");
  }
  for (const key of Object.keys(metrics)) {
    if (!metricsKeys.has(key)) throw new TypeError(`unknown option "metrics.${key}"`);
  }
  const hostname = metrics.hostname ?? "127.0.0.1";
  if (typeof hostname !== "string" || parseHost(hostname) === undefined) {
    throw new TypeError(`metrics.hostname must be an IP literal or "localhost", got ${JSON.stringify(hostname)}`);
  }
  const port = metrics.port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`metrics.port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const path = metrics.path ?? "/metrics";
  if (typeof path !== "string" || !/^\/[!-~]*$/.test(path) || /[?#]/.test(path)) {
    throw new TypeError(
      `metrics.path must start with "/" and be printable ASCII without spaces, "?" or "#", got ${JSON.stringify(path)}`,
    );
  }
  return { hostname, port, path };
}

export function resolveSuperviseOptions(
  options: SuperviseOptions,
  defaultRuntime: WorkerRuntime,
  cpus: number,
): ResolvedSuperviseOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  for (const key of Object.keys(options)) if (!knownKeys.has(key)) throw new TypeError(`unknown option "${key}"`);
  const selfBind = options.selfBind ?? false;
  if (typeof selfBind !== "boolean") throw new TypeError("selfBind must be a boolean");
  if (options.listen !== undefined && !Array.isArray(options.listen)) {
    throw new TypeError("listen must be an array of addresses ({ port, hostname?, transport? })");
  }
  // None: the sockets this process inherited (checked when the supervisor starts).
  const listen = (options.listen ?? []).map((address, i) => resolveAddress(address, i, selfBind));
  if (selfBind && listen.length === 0)
    throw new TypeError("with selfBind, listen must name the addresses the workers bind");
  const steer = resolveSteer(options.steer);
  if (steer.policy !== "hash" && selfBind) {
    throw new TypeError("steer needs the supervisor to hold the group's sockets, which it does not with selfBind");
  }
  const sharedSocket = options.sharedSocket ?? false;
  if (typeof sharedSocket !== "boolean") throw new TypeError("sharedSocket must be a boolean");
  if (sharedSocket && (selfBind || steer.policy !== "hash")) {
    throw new TypeError(
      "sharedSocket gives every slot one socket: there is no group to steer or to bind (steer, selfBind)",
    );
  }
  const tcpMigrateReq = options.tcpMigrateReq ?? false;
  if (typeof tcpMigrateReq !== "boolean") throw new TypeError("tcpMigrateReq must be a boolean");
  const pin = options.pin ?? false;
  if (typeof pin !== "boolean") throw new TypeError(`pin must be a boolean, got ${JSON.stringify(pin)}`);
  if (options.env !== undefined && (typeof options.env !== "object" || options.env === null)) {
    throw new TypeError("env must be an object of strings");
  }
  for (const name of ["onEvent", "onOutput"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function")
      throw new TypeError(`${name} must be a function`);
  }
  const command = resolveCommand(options, undefined, defaultRuntime);
  const name = options.name ?? defaultName(command.app);
  if (typeof name !== "string" || name === "") throw new TypeError("name must be a non-empty string");
  return {
    command,
    workers: positiveInteger(options.workers, "workers", cpus),
    listen,
    selfBind,
    tcpMigrateReq,
    steer: steer.policy,
    sharedSocket,
    steerIntervalMs: steer.intervalMs,
    stallMs: steer.stallMs,
    pin,
    graceMs: positiveInteger(options.graceMs, "graceMs", 30_000, 0),
    readyTimeoutMs: positiveInteger(options.readyTimeoutMs, "readyTimeoutMs", 30_000),
    env: options.env,
    cwd: options.cwd,
    crashLoopFailures: positiveInteger(options.crashLoopFailures, "crashLoopFailures", 5),
    crashLoopWindowMs: positiveInteger(options.crashLoopWindowMs, "crashLoopWindowMs", 60_000),
    name,
    metrics: resolveMetrics(options.metrics),
  };
}
