import type { ResolvedCommand } from "./_options.ts";
import type { WorkerRuntime } from "./types.ts";

/** The variables the library reads in a worker: what a Deno worker is allowed to see by default. */
export const WORKER_VARIABLES: readonly string[] = [
  "LISTEN_FDS",
  "LISTEN_PID",
  "LISTEN_FDNAMES",
  "NOTIFY_SOCKET",
  "REUSEPORT_SLOT",
  "REUSEPORT_GENERATION",
  "REUSEPORT_SUPERVISOR_PID",
  "REUSEPORT_DRAIN_MS",
  "REUSEPORT_SELF_BIND",
  "REUSEPORT_LIBC",
  // Set for the app, which reads it to know its port.
  "PORT",
];

/**
 * systemd's LISTEN_PID must be the pid of the process that takes the fds,
 * which a parent learns only after spawning it. A shell that exports its
 * own pid and then execs the worker keeps that pid, so the variable is
 * right from the worker's first instruction, as systemd sets it.
 */
const SET_LISTEN_PID = 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"';

/** A flag and its value, as Deno reads `--name=value` or `--name`. */
function flagName(arg: string): string {
  const at = arg.indexOf("=");
  return at === -1 ? arg : arg.slice(0, at);
}

/**
 * Deno's permission flags for the library, composed with the user's own:
 * Deno refuses `--allow-all` beside `--allow-env=…`, and of two
 * `--allow-env=…` lists only the last counts, so the library's variables
 * join the user's list instead of standing beside it. `-A` and a
 * permission set (`-P`, deno.json's "permissions") are taken as they are
 * (with `--unstable-net` beside them): the set must grant FFI and these
 * variables, or the library's first call says which flag is missing. An
 * `--allow-ffi=…` list gets `libc`, the absolute path of the supervisor's
 * libc: Deno resolves a library's bare name against the working directory.
 */
export function denoPermissionArgs(userArgs: readonly string[], libc?: string): string[] {
  const names = userArgs.map(flagName);
  // Deno.serve({ reusePort }) is unstable in Deno 2.9; the preload asks for it to join the group.
  const unstable = names.includes("--unstable-net") || names.includes("--unstable") ? [] : ["--unstable-net"];
  const whole = ["-A", "--allow-all", "-P", "--permission-set"];
  if (names.some((n) => whole.includes(n))) return [...unstable, ...userArgs];
  const added: string[] = [];
  if (!names.includes("--allow-ffi")) added.push("--allow-ffi");
  const variables = WORKER_VARIABLES.join(",");
  const all = userArgs.includes("--allow-env") || userArgs.includes("-E");
  const rewritten = userArgs.map((arg) => {
    if (!all && flagName(arg) === "--allow-env" && arg.includes("=")) return `${arg},${variables}`;
    // A list of libraries: libc joins it by its absolute path, which the library then opens (REUSEPORT_LIBC).
    if (libc !== undefined && flagName(arg) === "--allow-ffi" && arg.includes("=")) return `${arg},${libc}`;
    return arg;
  });
  if (!all && !names.includes("--allow-env")) added.push(`--allow-env=${variables}`);
  return [...added, ...unstable, ...rewritten];
}

/** The runtime flag that loads a module before the app. */
const PRELOAD_FLAG: Record<WorkerRuntime, string> = { node: "--import", bun: "--preload", deno: "--preload" };

/**
 * argv for one worker: the runtime, its flags, the preload, the app and its
 * arguments. The preload comes after the user's flags, so that a loader
 * they name (Node 20's `--import tsx`) is in place before it.
 */
export function workerArgv(
  command: ResolvedCommand,
  own: { readonly runtime: WorkerRuntime; readonly execPath: string },
  preload: string | undefined,
  libc?: string,
): string[] {
  const executable = command.executable ?? (command.runtime === own.runtime ? own.execPath : command.runtime);
  const flags =
    command.runtime === "deno" ? ["run", ...denoPermissionArgs(command.runtimeArgs, libc)] : [...command.runtimeArgs];
  if (command.preload && preload !== undefined) flags.push(PRELOAD_FLAG[command.runtime], preload);
  return [executable, ...flags, command.app, ...command.args];
}

/** The command that starts `argv` with LISTEN_PID set to its own pid. */
export function withListenPid(argv: readonly string[]): { command: string; args: string[] } {
  return { command: "/bin/sh", args: ["-c", SET_LISTEN_PID, ...argv] };
}

/** The absolute path of the library named `libcName` ("libc.so.6") in a /proc/<pid>/maps text. */
export function libcPathIn(maps: string, libcName: string): string | undefined {
  for (const line of maps.split("\n")) {
    const at = line.indexOf("/");
    if (at !== -1 && line.endsWith(`/${libcName}`)) return line.slice(at);
  }
  return undefined;
}
