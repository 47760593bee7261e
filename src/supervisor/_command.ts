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
];

/**
 * systemd's LISTEN_PID must be the pid of the process that takes the fds,
 * which a parent learns only after spawning it. A shell that exports its
 * own pid and then execs the worker keeps that pid, so the variable is
 * right from the worker's first instruction, as systemd sets it.
 */
const SET_LISTEN_PID = 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"';

/** argv for one worker: the runtime, its flags, the app and its arguments. */
export function workerArgv(
  command: ResolvedCommand,
  own: { readonly runtime: WorkerRuntime; readonly execPath: string },
): string[] {
  const executable = command.executable ?? (command.runtime === own.runtime ? own.execPath : command.runtime);
  const flags =
    command.runtime === "deno"
      ? ["run", "--allow-ffi", `--allow-env=${WORKER_VARIABLES.join(",")}`, ...command.runtimeArgs]
      : [...command.runtimeArgs];
  return [executable, ...flags, command.app, ...command.args];
}

/** The command that starts `argv` with LISTEN_PID set to its own pid. */
export function withListenPid(argv: readonly string[]): { command: string; args: string[] } {
  return { command: "/bin/sh", args: ["-c", SET_LISTEN_PID, ...argv] };
}
