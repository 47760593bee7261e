import { parseArgs } from "node:util";
import { defaultName } from "../supervisor/_options.ts";
import type {
  GroupAddress,
  MetricsEndpoint,
  SteerPolicyName,
  SuperviseOptions,
  WorkerRuntime,
} from "../supervisor/types.ts";

/** A mistake in the command line: printed with a pointer to --help, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const runOptions = {
  workers: { type: "string", short: "w" },
  port: { type: "string", short: "p", multiple: true },
  host: { type: "string", short: "H", multiple: true },
  "udp-port": { type: "string", short: "u", multiple: true },
  runtime: { type: "string", short: "r" },
  exec: { type: "string" },
  "runtime-args": { type: "string" },
  grace: { type: "string", short: "g" },
  "ready-timeout": { type: "string" },
  "self-bind": { type: "boolean" },
  "no-preload": { type: "boolean" },
  "tcp-migrate-req": { type: "boolean" },
  steer: { type: "string" },
  "stall-ms": { type: "string" },
  "shared-socket": { type: "boolean" },
  pin: { type: "boolean" },
  metrics: { type: "string" },
  name: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const policies: readonly SteerPolicyName[] = ["hash", "cpu", "queue", "stall-aware"];

function steerPolicy(value: string | undefined, stallMs: string | undefined): SuperviseOptions["steer"] {
  if (value !== undefined && !policies.includes(value as SteerPolicyName)) {
    throw new UsageError(`--steer takes ${policies.join(", ")}, got "${value}"`);
  }
  const policy = value as SteerPolicyName | undefined;
  if (stallMs === undefined) return policy;
  if (policy !== "stall-aware") throw new UsageError("--stall-ms goes with --steer stall-aware");
  return { policy, stallMs: integer(stallMs, "--stall-ms", 1) };
}

/** What `reuseport run` was asked to do. */
export interface RunRequest {
  readonly help: boolean;
  readonly name: string;
  readonly options: Omit<SuperviseOptions, "onEvent" | "onOutput">;
}

/**
 * The options end at the app: everything after it is the app's own, as
 * with `node app.js --port 1`. Finds where, knowing which options take a
 * value, and joins each such option to its value ("--runtime-args=--import
 * tsx"), so that a value may start with a dash.
 */
function splitAtApp(argv: readonly string[]): { own: string[]; app: string[] } {
  const longNames = new Map<string, string>();
  for (const [long, spec] of Object.entries(runOptions)) {
    if (spec.type !== "string") continue;
    longNames.set(`--${long}`, long);
    if ("short" in spec) longNames.set(`-${spec.short}`, long);
  }
  const own: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") return { own, app: argv.slice(i + 1) };
    if (!arg.startsWith("-") || arg === "-") return { own, app: argv.slice(i) };
    const long = longNames.get(arg);
    if (long !== undefined && i + 1 < argv.length) own.push(`--${long}=${argv[++i]}`);
    else own.push(arg);
  }
  return { own, app: [] };
}

function integer(text: string | undefined, option: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || text.trim() === "") {
    throw new UsageError(`${option} takes a whole number of at least ${min}, got "${text}"`);
  }
  return value;
}

function seconds(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || text.trim() === "") {
    throw new UsageError(`${option} takes a number of seconds, got "${text}"`);
  }
  return Math.round(value * 1000);
}

function port(text: string, option: string): number {
  const value = integer(text, option, 0) as number;
  if (value > 65535) throw new UsageError(`${option} takes a port from 0 to 65535, got "${text}"`);
  return value;
}

/** "[host:]port", with IPv6 hosts in brackets ("[::1]:53"). */
function hostAndPort(text: string, fallbackHost: string): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (match === null) return { hostname: fallbackHost, port: port(text, "--udp-port") };
  return { hostname: (match[1] ?? match[2]) as string, port: port(match[3] as string, "--udp-port") };
}

/** "[host:]port[/path]", with an IPv6 host in brackets ("[::1]:9100/metrics"); host and path as supervise() defaults them. */
function metricsEndpoint(text: string | undefined): MetricsEndpoint | undefined {
  if (text === undefined) return undefined;
  const match = /^(?:(?:\[([^\]]+)\]|([^:/[\]]+)):)?(\d+)(\/.*)?$/.exec(text);
  if (match === null) {
    throw new UsageError(`--metrics takes [host:]port[/path] (e.g. 9100, 0.0.0.0:9100/metrics), got "${text}"`);
  }
  const hostname = match[1] ?? match[2];
  return {
    port: port(match[3] as string, "--metrics"),
    ...(hostname === undefined ? {} : { hostname }),
    ...(match[4] === undefined ? {} : { path: match[4] }),
  };
}

/** Splits --runtime-args the way a shell would for plain words and quotes. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3] ?? "");
  return words;
}

export function parseRun(argv: readonly string[]): RunRequest {
  const { own, app } = splitAtApp(argv);
  let values: ReturnType<typeof parseArgs<{ options: typeof runOptions; strict: true }>>["values"];
  try {
    ({ values } = parseArgs({ args: own, options: runOptions, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [script, ...args] = app;
  if (values.help) return { help: true, name: "", options: { app: "", listen: [] } };
  if (script === undefined) throw new UsageError("no app given: reuseport run [options] <app> [app args...]");
  const hosts = values.host ?? [];
  const listen: GroupAddress[] = (values.port ?? []).map((p, i) => ({
    transport: "tcp",
    hostname: hosts[i] ?? hosts.at(-1) ?? "0.0.0.0",
    port: port(p, "--port"),
  }));
  if (hosts.length > listen.length) throw new UsageError(`${hosts.length} --host given for ${listen.length} --port`);
  for (const text of values["udp-port"] ?? []) {
    listen.push({ transport: "udp", ...hostAndPort(text, hosts[0] ?? "0.0.0.0") });
  }

  const runtime = values.runtime;
  if (runtime !== undefined && !["node", "bun", "deno"].includes(runtime)) {
    throw new UsageError(`--runtime takes node, bun or deno, got "${runtime}"`);
  }
  return {
    help: false,
    name: values.name ?? defaultName(script),
    options: {
      app: script,
      args,
      // None given: the sockets a service manager handed over (LISTEN_FDS).
      listen: listen.length > 0 ? listen : undefined,
      workers: integer(values.workers, "--workers", 1),
      runtime: runtime as WorkerRuntime | undefined,
      executable: values.exec,
      runtimeArgs: values["runtime-args"] === undefined ? undefined : splitWords(values["runtime-args"]),
      graceMs: seconds(values.grace, "--grace"),
      readyTimeoutMs: seconds(values["ready-timeout"], "--ready-timeout"),
      selfBind: values["self-bind"] ?? false,
      preload: !(values["no-preload"] ?? false),
      tcpMigrateReq: values["tcp-migrate-req"] ?? false,
      steer: steerPolicy(values.steer, values["stall-ms"]),
      sharedSocket: values["shared-socket"] ?? false,
      pin: values.pin ?? false,
      metrics: metricsEndpoint(values.metrics),
    },
  };
}
