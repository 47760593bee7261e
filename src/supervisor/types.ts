/**
 * The supervisor's public contract: options, the handle, workers and events. Types only.
 */
import type { NetAddr } from "../types.ts";

/** A runtime that can run a worker. */
export type WorkerRuntime = "node" | "bun" | "deno";

/** One address of a group the supervisor owns: every worker slot gets its own socket on it. */
export interface GroupAddress {
  /** "tcp" (default) or "udp". */
  readonly transport?: "tcp" | "udp";
  /** An IP literal or "localhost"; default "0.0.0.0". */
  readonly hostname?: string;
  /** 1–65535, or 0 for a free port the kernel picks (read it back in `supervisor.addresses`). */
  readonly port: number;
}

/** A steering policy of the supervisor; see {@link SuperviseOptions.steer}. */
export type SteerPolicyName = "hash" | "cpu" | "queue" | "stall-aware";

/** A steering policy with its tuning. */
export interface SteerOptions {
  /** The policy; see {@link SuperviseOptions.steer}. */
  readonly policy: SteerPolicyName;
  /** "queue" and "stall-aware": milliseconds between samples of the queues (default 5). */
  readonly intervalMs?: number;
  /** "stall-aware": milliseconds a queue stays non-empty without shrinking before its slot counts as stalled (default 100). */
  readonly stallMs?: number;
}

/** What a generation of workers runs. */
export interface WorkerCommand {
  /** The app: a script the runtime runs. */
  readonly app: string;
  /** Arguments after the app. */
  readonly args?: readonly string[];
  /** The runtime that runs the app (default: the runtime running the supervisor). */
  readonly runtime?: WorkerRuntime;
  /**
   * The runtime's executable (default: this process's own for its runtime,
   * otherwise the runtime's name looked up on PATH).
   */
  readonly executable?: string;
  /**
   * Flags for the runtime, before the app (Node's `--import tsx`, Deno's
   * permissions). A Deno worker gets `--allow-ffi` and `--allow-env` for
   * the variables the library reads, merged with these: nothing is added
   * to `-A`/`--allow-all` or a permission set (`-P`), an `--allow-env=…`
   * or `--allow-ffi=…` list gets the library's entries added.
   */
  readonly runtimeArgs?: readonly string[];
  /**
   * Start the worker with the library's preload (default true): `--import`
   * on Node, `--preload` on Bun and Deno. It makes an unchanged app's
   * `server.listen(port)` on a served port serve the supervisor's socket
   * (node:http, node:net and every framework over them, on Node and Deno),
   * says READY=1 once every served address is, and drains those servers on
   * SIGTERM unless the app handles SIGTERM itself. False: the app calls the
   * library itself (`listen()`, `openSocket()` and `notifyReady()`).
   */
  readonly preload?: boolean;
}

/**
 * Where the supervisor serves its metrics: Prometheus text over HTTP on a
 * TCP socket of its own, never in a SO_REUSEPORT group (a second
 * supervisor asking for the same port fails instead of sharing it).
 */
export interface MetricsEndpoint {
  /** An IP literal or "localhost"; default "127.0.0.1", so that no other host can read them unless asked. */
  readonly hostname?: string;
  /** 1–65535, or 0 for a free port the kernel picks (read it back in `supervisor.metricsAddr`). */
  readonly port: number;
  /** The one path that answers, starting with "/" (default "/metrics"); any other is a 404. */
  readonly path?: string;
}

/** Options for {@link supervise}. */
export interface SuperviseOptions extends WorkerCommand {
  /** Worker slots (default: the number of CPUs). */
  readonly workers?: number;
  /**
   * The addresses of the groups; every slot gets one socket on each.
   * Default: the sockets this process inherited (a systemd .socket unit),
   * which slot 0 adopts and the other slots' sockets join.
   */
  readonly listen?: readonly GroupAddress[];
  /**
   * Workers bind their own sockets instead of inheriting the supervisor's
   * (for servers that cannot serve an fd, such as Bun.serve and Deno.serve).
   * Closing a worker then closes its socket, and the kernel resets that
   * socket's queue unless `net.ipv4.tcp_migrate_req` is 1: the supervisor
   * reads the setting and says which holds.
   */
  readonly selfBind?: boolean;
  /**
   * Turn `net.ipv4.tcp_migrate_req` on for the supervisor's network
   * namespace (default false: it is only read). A host-wide setting in the
   * root namespace, shared with every other service: asked for by name,
   * never turned back. Needs root (CAP_NET_ADMIN); where it cannot be
   * written the supervisor says so and goes on.
   */
  readonly tcpMigrateReq?: boolean;
  /**
   * How each group picks a slot for a new connection or datagram:
   * - "hash": the kernel's own hash of the addresses (the default);
   * - "cpu": slot i gets what CPU i received (modulo the number of slots);
   * - "queue": new TCP connections go only to the slots whose accept
   *   queues are the shortest (all while they are equal), so a busy worker
   *   is passed over until it catches up;
   * - "stall-aware": a slot whose queue stays non-empty without shrinking
   *   for `stallMs` (its worker accepts nothing) gets no new TCP connection
   *   until its queue is empty again.
   * The supervisor attaches a classic BPF program to each group, again
   * after each scale; for "queue" and "stall-aware" it samples every slot's
   * queue every `intervalMs` and re-attaches when the chosen slots change.
   * UDP groups follow "hash" or "cpu" ("queue" and "stall-aware" keep the
   * hash for them). Not with `selfBind` (the supervisor holds no socket then).
   */
  readonly steer?: SteerPolicyName | SteerOptions;
  /**
   * Every slot serves one socket per address instead of a socket of its own
   * (default false): one accept queue that whichever worker is free takes
   * from, as Node's cluster with SCHED_NONE or nginx without `reuseport`
   * do. Work-conserving, so a busy worker holds no queue of its own, at the
   * price of every waiting worker waking for each connection. Not with
   * `steer` or `selfBind`.
   */
  readonly sharedSocket?: boolean;
  /**
   * Pin each worker to one CPU from its first instruction (default false):
   * slot i's worker runs on the (i mod n)th of the n CPUs the supervisor
   * may run on (its own affinity), every thread of it, across restarts,
   * reloads and scaling. With `steer: "cpu"` and CPUs 0 to n-1, slot i's
   * worker then runs on the CPU whose connections its socket gets. Linux.
   */
  readonly pin?: boolean;
  /**
   * Serve the metrics `reuseport status --prometheus` prints over HTTP
   * (default: not at all): GET or HEAD on `path` answers them as text
   * exposition format 0.0.4, for Prometheus to scrape. The socket is
   * opened before any worker starts (a port in use fails `supervise()`)
   * and closed when the supervisor stops.
   */
  readonly metrics?: MetricsEndpoint;
  /**
   * The supervisor's name, the `name` label of every metric (default: the
   * app's file name without extension, as `reuseport run` names it).
   */
  readonly name?: string;
  /** Milliseconds a stopping worker gets before SIGKILL (default 30,000). */
  readonly graceMs?: number;
  /** Milliseconds a new worker gets to become ready (default 30,000); later counts as a failure. */
  readonly readyTimeoutMs?: number;
  /** Extra environment for the workers (default: the supervisor's own environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** The workers' working directory (default: the supervisor's). */
  readonly cwd?: string;
  /** Failures within `crashLoopWindowMs` that mark a slot as crash-looping (default 5). */
  readonly crashLoopFailures?: number;
  /** The window for `crashLoopFailures`, in milliseconds (default 60,000). */
  readonly crashLoopWindowMs?: number;
  /**
   * Answer the signals a supervisor process answers (default false):
   * SIGTERM/SIGINT stop (a second one kills), SIGHUP reloads, SIGTTIN and
   * SIGTTOU add and remove a worker. `reuseport run` turns it on.
   */
  readonly signals?: boolean;
  /** Called for every worker and supervisor event (default: nothing). */
  readonly onEvent?: (event: SupervisorEvent) => void;
  /**
   * Called with every whole line a worker writes (default: written to the
   * supervisor's stdout or stderr prefixed with "[slot] ").
   */
  readonly onOutput?: (line: WorkerOutputLine) => void;
}

/** A whole line a worker wrote. */
export interface WorkerOutputLine {
  /** The slot of the worker that wrote it. */
  readonly slot: number;
  /** The worker's pid. */
  readonly pid: number;
  /** The worker's generation. */
  readonly generation: number;
  /** Which of its outputs. */
  readonly stream: "stdout" | "stderr";
  /** The line, without its line break. */
  readonly line: string;
}

/** Where a worker is in its life. */
export type WorkerState = "starting" | "ready" | "stopping" | "exited";

/** A worker as `supervisor.workers()` reports it. */
export interface WorkerInfo {
  /** The slot: which of the group's sockets the worker serves. */
  readonly slot: number;
  /** The worker's pid. */
  readonly pid: number;
  /** Incremented by every reload; restarts after a crash keep it. */
  readonly generation: number;
  /** The runtime running it. */
  readonly runtime: WorkerRuntime;
  /** Starting (not ready yet), ready, stopping (asked to stop) or exited. */
  readonly state: WorkerState;
  /** Milliseconds since the worker was started. */
  readonly uptimeMs: number;
  /** How many times this slot's worker was restarted after a failure. */
  readonly restarts: number;
  /** True while the slot fails too often to be trusted (see `crashLoopFailures`). */
  readonly crashLooping: boolean;
  /** The slot's sockets, each with its accept queue where the kernel reports one (TCP on Linux). */
  readonly sockets: readonly SlotSocket[];
  /** With `pin`: the CPU the worker was started on (its every thread's, unless it moves itself). */
  readonly cpu?: number;
}

/** One socket of a worker's slot, as `reuseport status` shows it. */
export interface SlotSocket {
  /** The address the socket is bound to. */
  readonly addr: NetAddr;
  /** TCP: connections waiting for accept(2) on this socket (TCP_INFO). */
  readonly queued?: number;
  /** TCP: the accept queue's limit. */
  readonly backlog?: number;
  /** UDP: bytes of datagrams waiting to be read. */
  readonly queuedBytes?: number;
  /** UDP: datagrams the kernel dropped on this socket. */
  readonly drops?: number;
  /**
   * Whether the group's steering sends new connections (or datagrams) to
   * this socket now: false while its slot is stalled, has a longer queue
   * than others under "queue", or is being retired by a scale.
   */
  readonly steeredTo?: boolean;
  /**
   * With selfBind: the worker's own socket's place in the group, as the
   * supervisor records it (0 is the supervisor's anchor, which no worker holds).
   */
  readonly member?: number;
}

/** How a worker ended. */
export interface WorkerExit {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or null. */
  readonly signal: string | null;
}

/** One thing that happened, as `reuseport run` prints it. */
export type SupervisorEvent =
  | { readonly type: "started"; readonly slot: number; readonly pid: number; readonly generation: number }
  | {
      readonly type: "ready";
      readonly slot: number;
      readonly pid: number;
      readonly generation: number;
      readonly ms: number;
    }
  | {
      readonly type: "exited";
      readonly slot: number;
      readonly pid: number;
      readonly generation: number;
      readonly code: number | null;
      readonly signal: string | null;
      /** True when the supervisor had asked the worker to stop. */
      readonly expected: boolean;
      /** True when it exited before it was ready. */
      readonly beforeReady: boolean;
      /** The last STATUS= line it sent (the preload says so when the app listens where it cannot serve). */
      readonly status?: string;
    }
  | {
      /** A worker sent STATUS= (sd_notify): the preload tells so what the app did that it cannot serve. */
      readonly type: "status";
      readonly slot: number;
      readonly pid: number;
      readonly generation: number;
      readonly message: string;
    }
  | {
      readonly type: "not-ready";
      readonly slot: number;
      readonly pid: number;
      readonly generation: number;
      readonly ms: number;
    }
  | { readonly type: "restarting"; readonly slot: number; readonly generation: number; readonly delayMs: number }
  | { readonly type: "crash-loop"; readonly slot: number; readonly failures: number; readonly windowMs: number }
  | { readonly type: "reload"; readonly generation: number }
  | { readonly type: "reloaded"; readonly generation: number; readonly ms: number }
  | { readonly type: "reload-failed"; readonly generation: number; readonly reason: string }
  | { readonly type: "scaled"; readonly from: number; readonly to: number }
  | {
      /** "stall-aware": the slot's queue on `addr` held `queued` connections for `ms` without shrinking; it gets no new ones. */
      readonly type: "stalled";
      readonly slot: number;
      readonly addr: NetAddr;
      readonly queued: number;
      readonly ms: number;
    }
  | {
      /** "stall-aware": the slot's queue on `addr` is empty again, and it gets new connections again. */
      readonly type: "unstalled";
      readonly slot: number;
      readonly addr: NetAddr;
    }
  | { readonly type: "stopping"; readonly signal: string | null }
  | { readonly type: "stopped"; readonly clean: boolean }
  | { readonly type: "notice"; readonly message: string };

/** What `reload()` reports. */
export interface ReloadResult {
  /** True when the new generation is serving and the old one was stopped. */
  readonly ok: boolean;
  /** The generation serving now. */
  readonly generation: number;
  /** Why the new generation was abandoned, when `ok` is false. */
  readonly reason?: string;
}

/** A running supervisor. */
export interface Supervisor extends AsyncDisposable {
  /** Every group address with its bound port (the kernel's when 0 was asked for). */
  readonly addresses: readonly NetAddr[];
  /** The address serving metrics, with the kernel's port when 0 was asked for; undefined without `metrics`. */
  readonly metricsAddr: NetAddr | undefined;
  /** Resolves once every slot's first worker is ready (rejects if the supervisor stops first). */
  readonly ready: Promise<void>;
  /** Resolves when the supervisor has stopped: true when every worker stopped cleanly. */
  readonly stopped: Promise<boolean>;
  /** The current generation. */
  readonly generation: number;
  /** How many worker slots there are (a slot waiting to restart its worker has no entry in `workers()`). */
  readonly slots: number;
  /** One entry per live worker (both generations during a reload). */
  workers(): WorkerInfo[];
  /**
   * Starts a new generation on the same sockets, waits until every new
   * worker is ready, then stops the old one gracefully. If the new
   * generation does not become ready, it is killed and the old one keeps
   * serving. `command` may change the app, its arguments or its runtime.
   */
  reload(command?: Partial<WorkerCommand>): Promise<ReloadResult>;
  /** Adds or removes slots (at least 1). */
  scale(workers: number): Promise<void>;
  /**
   * Stops every worker gracefully (SIGTERM, SIGKILL after the grace time),
   * closes the group's sockets; resolves with `stopped`.
   */
  stop(): Promise<boolean>;
}
