import type { WorkerExit, WorkerRuntime } from "./types.ts";

/** Signals the supervisor listens to. */
export type SupervisorSignal = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGTTIN" | "SIGTTOU";

/** How to start one worker process. */
export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  /** Fds the child gets at 3, 4, …, in this order. */
  readonly fds: readonly number[];
  readonly onStdout: (chunk: Uint8Array) => void;
  readonly onStderr: (chunk: Uint8Array) => void;
}

/** A started child process. */
export interface ChildHandle {
  readonly pid: number;
  /** Sends a signal; does nothing once the child has exited. */
  kill(signal: "SIGTERM" | "SIGKILL"): void;
  /** Resolves when the child has exited and its output is read to the end. */
  readonly exited: Promise<WorkerExit>;
}

/** A small server on a Unix stream socket answering one JSON request per connection. */
export interface ControlServer {
  close(): void;
}

/**
 * What the supervisor needs from the runtime it runs on: processes,
 * signals, a private directory and a control socket. The only
 * runtime-specific part of the supervisor, built in src/runtime/.
 */
export interface ProcessHost {
  /** The runtime running the supervisor, and its executable. */
  readonly runtime: WorkerRuntime;
  readonly execPath: string;
  readonly pid: number;
  /** The supervisor's environment. */
  env(): Record<string, string>;
  /** CPUs this process may run on. */
  cpuCount(): number;
  spawn(spec: SpawnSpec): ChildHandle;
  /** Calls `handler` on each delivery of `signal`; returns the function that stops it. */
  onSignal(signal: SupervisorSignal, handler: () => void): () => void;
  /** Writes to the supervisor's own stdout / stderr. */
  writeStdout(text: string): void;
  writeStderr(text: string): void;
  /**
   * The directory for the supervisor's sockets, made if missing: mode 0700,
   * owned by this user, under XDG_RUNTIME_DIR where set. Refuses one that
   * another user owns or others may enter.
   */
  privateDir(): string;
  /** The names in a directory (none when it cannot be read). */
  listDir(path: string): string[];
  /** Removes a file, ignoring one that is gone. */
  removeFile(path: string): void;
  /** Reads a small text file such as a sysctl; undefined when it cannot be read. */
  readText(path: string): string | undefined;
  /** Writes a small text file such as a sysctl; false when not allowed. */
  writeText(path: string, text: string): boolean;
  /** Serves `handle` on a Unix stream socket at `path`, mode 0600. */
  serveControl(path: string, handle: (request: unknown) => Promise<unknown>): Promise<ControlServer>;
  /** Sends one request to a control socket and returns its answer. */
  askControl(path: string, request: unknown): Promise<unknown>;
}
