import { formatFdName } from "../activation/names.ts";
import { sendNotify } from "../activation/notify.ts";
import { getAffinity, withThreadAffinity } from "../cpu/affinity.ts";
import type { WatchReadable } from "../ffi/readiness.ts";
import type { Sys } from "../ffi/sys.ts";
import { formatHostPort } from "../socket/_ip.ts";
import { readProcFile } from "../socket/_proc.ts";
import { setTimeoutOption } from "../socket/sockopt.ts";
import { socketStats } from "../socket/stats.ts";
import { type BalancedGroup, GroupBalancer } from "../steer/balancer.ts";
import type { InheritedSocket, Listener, ListenOptions, NetAddr, RawSocket, SocketOptions } from "../types.ts";
import { libcPathIn, withListenPid, workerArgv } from "./_command.ts";
import type { ChildHandle, ProcessHost, SupervisorSignal } from "./_host.ts";
import { JoinedGroups } from "./_joined.ts";
import { LineSplitter } from "./_lines.ts";
import { type MetricsServer, serveMetrics } from "./_metrics-server.ts";
import { type NotifyReceiver, receiveNotifications } from "./_notify.ts";
import {
  type ResolvedCommand,
  type ResolvedSuperviseOptions,
  resolveCommand,
  resolveSuperviseOptions,
} from "./_options.ts";
import { formatPrometheus } from "./_prometheus.ts";
import { RestartTracker } from "./_restarts.ts";
import type {
  GroupAddress,
  ReloadResult,
  SlotSocket,
  SuperviseOptions,
  Supervisor,
  SupervisorEvent,
  WorkerCommand,
  WorkerExit,
  WorkerInfo,
  WorkerOutputLine,
  WorkerRuntime,
  WorkerState,
} from "./types.ts";

/** What the supervisor takes from the library and the runtime. */
export interface SupervisorDeps {
  readonly sys: () => Sys;
  /** Opens a socket, adopting one this process inherited for the address (systemd socket activation). */
  readonly openSocket: (options: SocketOptions) => RawSocket;
  /** Opens a socket of its own, inherited or not: the other slots' members of an inherited socket's group. */
  readonly openOwnSocket: (options: SocketOptions) => RawSocket;
  /** The sockets this process inherited (empty unless started by socket activation). */
  readonly inheritedSockets: () => readonly InheritedSocket[];
  /** Tells this process's own service manager that it is ready (false when none listens). */
  readonly notifyReady: () => boolean;
  readonly watchReadable: () => WatchReadable;
  /**
   * The library's listen() on a socket of this process's own, never an
   * inherited one: the metrics endpoint, which must not take over a
   * socket a service manager handed over for the workers.
   */
  readonly listen: (options: ListenOptions) => Listener;
  readonly host: ProcessHost;
  /** The preload module for workers of a runtime (a path or URL), if the library has one for it. */
  readonly preload: (runtime: WorkerRuntime) => string | undefined;
}

const MIGRATE_SYSCTL = "/proc/sys/net/ipv4/tcp_migrate_req";
/**
 * How long a retiring slot's queues must stay empty, once new connections
 * go elsewhere, before its worker is stopped: handshakes the kernel had
 * already given it complete within a round trip and join its queue.
 */
const RETIRE_SETTLE_MS = 500;
/** Before each old self-bound worker stops, its queue must have stayed empty this long again. */
const STOP_SETTLE_MS = 100;
/** How often self-bound queues are read while they settle: from /proc/net/tcp, long on a busy host. */
const JOINED_SAMPLE_MS = 20;

/** How long a worker's own drain may take (REUSEPORT_DRAIN_MS): a little under the grace time, so it exits before SIGKILL. */
function drainBound(graceMs: number): number {
  return Math.max(0, graceMs - Math.min(1000, Math.floor(graceMs / 4)));
}

/** A shared socket as the other slots hold it: the same fd, which only slot 0 closes. */
function alias(socket: RawSocket): RawSocket {
  return {
    get fd() {
      return socket.fd;
    },
    transport: socket.transport,
    family: socket.family,
    localAddr: socket.localAddr,
    close: () => {},
    release: () => socket.fd,
    [Symbol.dispose]: () => {},
  };
}

class Worker {
  readonly slot: Slot;
  readonly generation: number;
  readonly command: ResolvedCommand;
  readonly child: ChildHandle;
  /** The CPU it was pinned to, with `pin`. */
  readonly cpu: number | undefined;
  readonly startedAt = Date.now();
  state: WorkerState = "starting";
  /** The supervisor asked it to stop: its exit is no failure. */
  stopRequested = false;
  /** Killed after its grace time or ready timeout. */
  killed = false;
  readonly readiness: Promise<boolean>;
  settleReadiness: (ready: boolean) => void = () => {};
  notify: NotifyReceiver | undefined;
  /** The last STATUS= it sent. */
  status: string | undefined;
  /** The address of a turn to join it asked for, until the line naming its answer socket arrives. */
  joining: string | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(slot: Slot, generation: number, command: ResolvedCommand, child: ChildHandle, cpu: number | undefined) {
    this.slot = slot;
    this.generation = generation;
    this.command = command;
    this.child = child;
    this.cpu = cpu;
    this.readiness = new Promise((resolve) => {
      this.settleReadiness = resolve;
    });
  }

  get pid(): number {
    return this.child.pid;
  }
}

class Slot {
  readonly index: number;
  /** One socket per group address, held for the slot's whole life (none with selfBind). */
  readonly sockets: RawSocket[];
  readonly tracker: RestartTracker;
  current: Worker | undefined;
  restarts = 0;
  crashLooping = false;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set once the slot had a ready worker. */
  everReady = false;

  constructor(index: number, sockets: RawSocket[], tracker: RestartTracker) {
    this.index = index;
    this.sockets = sockets;
    this.tracker = tracker;
  }
}

class GroupSupervisor implements Supervisor {
  readonly addresses: readonly NetAddr[];
  readonly metricsAddr: NetAddr | undefined;
  readonly ready: Promise<void>;
  readonly stopped: Promise<boolean>;
  readonly #deps: SupervisorDeps;
  readonly #options: ResolvedSuperviseOptions;
  readonly #onEvent: (event: SupervisorEvent) => void;
  readonly #onOutput: (line: WorkerOutputLine) => void;
  readonly #dir: string;
  readonly #slots: Slot[] = [];
  /** Every live worker, of any generation. */
  readonly #live = new Set<Worker>();
  readonly #listen: readonly Required<GroupAddress>[];
  /** Inherited sockets every slot serves (the other slots through an alias), because no socket of ours could join their group. */
  readonly #shared = new Set<RawSocket>();
  #command: ResolvedCommand;
  #generation = 1;
  #serial = 0;
  #stopping = false;
  #settleStopped: (clean: boolean) => void = () => {};
  #settleReady: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** Reloads and scaling run one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #signals: (() => void)[] = [];
  /** Keeps each group's steering program right (none with selfBind). */
  #balancer: GroupBalancer | undefined;
  /** With selfBind and the preload: the anchors, the workers' turns to join, and the steering over their members. */
  #joined: JoinedGroups<Worker> | undefined;
  /** This process's libc's absolute path ("" where it cannot be told), once asked for. */
  #libc: string | undefined;
  /** Slots being removed by a scale: still members of the groups, getting nothing new, until their workers exit. */
  #retiring: Slot[] = [];
  /** With `pin`: the CPUs the supervisor may run on, read once at the start; slot i's worker gets the (i mod n)th. */
  readonly #cpus: readonly number[];
  readonly #metrics: MetricsServer | undefined;

  constructor(deps: SupervisorDeps, options: SuperviseOptions) {
    this.#deps = deps;
    this.#options = resolveSuperviseOptions(options, deps.host.runtime, deps.host.cpuCount());
    this.#command = this.#options.command;
    this.#cpus = this.#options.pin ? getAffinity(deps.sys()) : [];
    this.#onEvent = options.onEvent ?? (() => {});
    this.#onOutput =
      options.onOutput ??
      ((out) => {
        const text = `[${out.slot}] ${out.line}\n`;
        if (out.stream === "stdout") deps.host.writeStdout(text);
        else deps.host.writeStderr(text);
      });
    this.#dir = deps.host.privateDir();
    this.#listen = this.#options.listen.length > 0 ? this.#options.listen : this.#fromActivation();
    this.ready = new Promise((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    // Nobody may be told about a failure they did not wait for.
    this.ready.catch(() => {});
    this.stopped = new Promise((resolve) => {
      this.#settleStopped = resolve;
    });
    const first = this.#openSlotSockets(0, this.#listen);
    this.addresses = this.#options.selfBind
      ? this.#listen.map((a) => ({ transport: a.transport, hostname: a.hostname, port: a.port }))
      : first.map((s) => s.localAddr);
    this.#slots.push(this.#newSlot(0, first));
    try {
      for (let i = 1; i < this.#options.workers; i++) this.#slots.push(this.#newSlot(i, this.#openSlotSockets(i)));
    } catch (error) {
      for (const slot of this.#slots) for (const socket of slot.sockets) socket.close();
      throw error;
    }

    try {
      if (!this.#options.selfBind) this.#balancer = this.#startBalancer();
      else if (this.#command.preload) this.#joined = this.#joinedGroups();
      this.#metrics = this.#serveMetrics();
    } catch (error) {
      this.#balancer?.stop();
      this.#joined?.close();
      for (const slot of this.#slots) for (const socket of slot.sockets) socket.close();
      throw error;
    }
    this.metricsAddr = this.#metrics?.addr;
    if (this.#options.selfBind || this.#options.tcpMigrateReq) this.#migration();
    for (const slot of this.#slots) this.#start(slot, this.#generation, this.#command);
  }

  get generation(): number {
    return this.#generation;
  }

  get slots(): number {
    return this.#slots.length;
  }

  /**
   * Opens slot `index`'s sockets: on the asked addresses for slot 0 (where
   * an inherited socket is adopted), then on slot 0's, with the kernel's
   * ports, as sockets of our own that join each group.
   */
  #openSlotSockets(index: number, addresses?: readonly Required<GroupAddress>[]): RawSocket[] {
    if (this.#options.selfBind) return [];
    const sockets: RawSocket[] = [];
    try {
      if (addresses !== undefined) {
        for (const a of addresses)
          sockets.push(
            this.#deps.openSocket({
              transport: a.transport,
              hostname: a.hostname,
              port: a.port,
              // One socket for every slot: nobody else may join it unseen.
              reusePort: !this.#options.sharedSocket,
            }),
          );
      } else {
        for (const first of this.#slots[0]?.sockets ?? []) sockets.push(this.#joinGroupOf(first));
      }
      this.#guard(sockets);
    } catch (error) {
      for (const socket of sockets) socket.close();
      if (index > 0 && error instanceof Error) error.message = `slot ${index}: ${error.message}`;
      throw error;
    }
    return sockets;
  }

  /**
   * A member of `first`'s group for another slot. An inherited socket made
   * without SO_REUSEPORT (a .socket unit without ReusePort=yes) or by
   * another user has a group no socket of ours can join: then every slot
   * serves the inherited socket itself, as one shared queue.
   */
  #joinGroupOf(first: RawSocket): RawSocket {
    if (this.#shared.has(first)) return alias(first);
    if (this.#options.sharedSocket) {
      this.#shared.add(first);
      return alias(first);
    }
    const address = first.localAddr;
    try {
      return this.#deps.openOwnSocket({ transport: address.transport, hostname: address.hostname, port: address.port });
    } catch (error) {
      const code = (error as { code?: string }).code;
      const inherited = this.#deps.inheritedSockets().some((s) => s.fd === first.fd);
      if (!inherited || code !== "EADDRINUSE") throw error;
      this.#shared.add(first);
      const reason = (error as { reason?: string }).reason;
      this.#notice(
        `the inherited socket ${address.transport} ${address.hostname}:${address.port} (fd ${first.fd}) has a group this process cannot join (${reason ?? "EADDRINUSE"}): every worker shares it, so the kernel does not balance between them; give the .socket unit ReusePort=yes`,
      );
      return alias(first);
    }
  }

  /** Every socket this process inherited, as the groups to serve when none was named. */
  #fromActivation(): readonly Required<GroupAddress>[] {
    const inherited = this.#deps.inheritedSockets();
    if (inherited.length === 0) {
      throw new TypeError(
        "no address to serve: name one in listen (--port, --udp-port), or start the supervisor with inherited sockets (LISTEN_FDS, LISTEN_PID)",
      );
    }
    this.#notice(`serving the ${inherited.length} inherited socket(s): ${inherited.map((s) => s.name).join(", ")}`);
    return inherited.map((s) => ({ transport: s.transport, hostname: s.localAddr.hostname, port: s.localAddr.port }));
  }

  /**
   * Bounds accept(2) on a group socket whose fd some process made blocking
   * (Deno does so while it spawns a worker; a worker's runtime might too)
   * to SO_RCVTIMEO, one clock tick or so, instead of a worker stuck in
   * accept until the next connection, with its open requests waiting.
   * Non-blocking use ignores it.
   */
  #guard(sockets: readonly RawSocket[]): void {
    const sys = this.#deps.sys();
    const c = sys.platform.constants;
    for (const socket of sockets) setTimeoutOption(sys, socket.fd, c.SOL_SOCKET, c.SO_RCVTIMEO, 1);
  }

  #newSlot(index: number, sockets: RawSocket[]): Slot {
    return new Slot(
      index,
      sockets,
      new RestartTracker({ failures: this.#options.crashLoopFailures, windowMs: this.#options.crashLoopWindowMs }),
    );
  }

  /**
   * Says what becomes of a closing member's queue. The setting is only
   * read: it is the network namespace's (the host's, in the root one), so
   * it is written only when asked for by name (tcpMigrateReq).
   */
  #migration(): void {
    const now = this.#deps.host.readText(MIGRATE_SYSCTL)?.trim();
    const closing = this.#options.selfBind ? "a closing worker's" : "a closing socket's";
    // With anchors, a worker gets nothing new before it stops, and its queue is empty when it closes.
    const otherwise =
      this.#joined !== undefined
        ? "the supervisor steers new connections away from a worker and lets its queue empty before it stops it, so nothing queued is reset"
        : `${closing} queued connections are reset`;
    if (now === undefined) {
      this.#notice(`this kernel has no net.ipv4.tcp_migrate_req; ${otherwise}`);
    } else if (now !== "0") {
      if (this.#options.selfBind) this.#notice(`net.ipv4.tcp_migrate_req is on; ${closing} queue moves to the others`);
    } else if (!this.#options.tcpMigrateReq) {
      if (this.#options.selfBind) {
        this.#notice(
          `net.ipv4.tcp_migrate_req is 0; ${otherwise}${this.#joined === undefined ? " (tcpMigrateReq, --tcp-migrate-req, turns it on as root)" : ""}`,
        );
      }
    } else if (this.#deps.host.writeText(MIGRATE_SYSCTL, "1")) {
      this.#notice(
        `turned on net.ipv4.tcp_migrate_req for this network namespace, as asked: ${closing} queue moves to the others`,
      );
    } else {
      this.#notice(`net.ipv4.tcp_migrate_req is 0 and may not be changed here; ${otherwise}`);
    }
  }

  /**
   * Anchors for the self-bound groups, opened before any worker joins, so
   * each is member 0 of its group; workers are steered to while they are
   * their slot's ready worker.
   */
  #joinedGroups(): JoinedGroups<Worker> {
    return new JoinedGroups<Worker>(
      {
        sys: this.#deps.sys,
        openOwnSocket: this.#deps.openOwnSocket,
        notice: (message) => this.#notice(message),
        after: (ms, run) => {
          const timer = setTimeout(run, ms);
          return { cancel: () => clearTimeout(timer) };
        },
      },
      this.#listen.map((a) => ({ transport: a.transport, hostname: a.hostname, port: a.port })),
      (worker) => worker.state === "ready" && worker.slot.current === worker && this.#slots.includes(worker.slot),
    );
  }

  /** The metrics endpoint, if asked for: opened before any worker starts, so a port in use fails supervise(). */
  #serveMetrics(): MetricsServer | undefined {
    const endpoint = this.#options.metrics;
    if (endpoint === undefined) return undefined;
    try {
      return serveMetrics(this.#deps.listen, endpoint, () => this.#metricsText());
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      // The library's hint for EADDRINUSE is to share the port, which the metrics socket never does.
      error.message =
        (error as { code?: string }).code === "EADDRINUSE"
          ? `metrics: ${formatHostPort(endpoint.hostname, endpoint.port)} is in use (bind EADDRINUSE); the metrics socket shares no port, so pick another one`
          : `metrics: ${error.message}`;
      throw error;
    }
  }

  /** The Prometheus text the metrics endpoint serves, the same as `reuseport status --prometheus`. */
  #metricsText(): string {
    return formatPrometheus({
      name: this.#options.name,
      generation: this.#generation,
      slots: this.#slots.length,
      workers: this.workers(),
    });
  }

  #notice(message: string): void {
    this.#onEvent({ type: "notice", message });
  }

  /** Starts a worker on the slot's sockets; a reload's candidate becomes the slot's worker only once its generation is ready. */
  #start(slot: Slot, generation: number, command: ResolvedCommand, candidate = false): Worker {
    const host = this.#deps.host;
    const notifyPath = `${this.#dir}/notify-${host.pid}-${++this.#serial}`;
    let worker: Worker | undefined;
    const notify = receiveNotifications(
      this.#deps.sys(),
      this.#deps.watchReadable(),
      notifyPath,
      (key, value) => {
        if (worker === undefined) return;
        if (key === "READY" && value === "1") this.#markReady(worker);
        else if (key === "STATUS") this.#status(worker, value);
        else if (key === "X_REUSEPORT_JOIN") worker.joining = value;
        else if (key === "X_REUSEPORT_REPLY") this.#turnAsked(worker, value);
        else if (key === "X_REUSEPORT_JOINED") this.#joined?.joined(worker, value);
        else if (key === "X_REUSEPORT_UNJOINED") this.#joined?.released(worker, value);
      },
      host.removeFile,
    );
    const env: Record<string, string> = { ...(this.#options.env ?? host.env()) };
    for (const name of ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "REUSEPORT_SELF_BIND"]) delete env[name];
    env.NOTIFY_SOCKET = notifyPath;
    env.REUSEPORT_SLOT = String(slot.index);
    env.REUSEPORT_GENERATION = String(generation);
    // The worker's library asks the kernel for SIGTERM when this process dies (see activation/supervisor-death.ts).
    env.REUSEPORT_SUPERVISOR_PID = String(host.pid);
    // The preload's drain ends before the grace time does, so a stop it handles is never a SIGKILL.
    env.REUSEPORT_DRAIN_MS = String(drainBound(this.#options.graceMs));
    // Apps written for PaaS hosts listen on $PORT: the first TCP address's.
    const tcp = this.addresses.find((a) => a.transport === "tcp");
    if (env.PORT === undefined && tcp !== undefined) env.PORT = String(tcp.port);
    const libc = command.runtime === "deno" ? this.#libcPath() : undefined;
    if (libc !== undefined) env.REUSEPORT_LIBC = libc;
    const argv = workerArgv(command, host, this.#deps.preload(command.runtime), libc);
    let spawn = { command: argv[0] as string, args: argv.slice(1) };
    if (slot.sockets.length > 0) {
      env.LISTEN_FDS = String(slot.sockets.length);
      env.LISTEN_FDNAMES = slot.sockets.map((s) => formatFdName(s.localAddr)).join(":");
      spawn = withListenPid(argv);
    } else if (this.#options.selfBind) {
      // What the preload makes Bun.serve, Deno.serve and node:net bind with SO_REUSEPORT; LISTEN_PID names the worker.
      env.REUSEPORT_SELF_BIND = this.addresses
        .filter((a) => a.transport === "tcp")
        .map((a) => formatFdName(a))
        .join(":");
      spawn = withListenPid(argv);
    }
    const lines = { stdout: undefined as LineSplitter | undefined, stderr: undefined as LineSplitter | undefined };
    const cpu = this.#cpus.length > 0 ? this.#cpus[slot.index % this.#cpus.length] : undefined;
    const spawnChild = (): ChildHandle =>
      host.spawn({
        ...spawn,
        env,
        cwd: this.#options.cwd,
        fds: slot.sockets.map((s) => s.fd),
        onStdout: (chunk) => lines.stdout?.push(chunk),
        onStderr: (chunk) => lines.stderr?.push(chunk),
      });
    // Every runtime forks (or posix_spawns) on this thread before spawn()
    // returns, and the child starts with the forking thread's mask: pinning
    // this thread alone for the call pins the child before its runtime
    // starts a thread, with nothing else of the supervisor moved.
    const child = cpu === undefined ? spawnChild() : withThreadAffinity(this.#deps.sys(), [cpu], spawnChild);
    this.#keepNonBlocking(slot.sockets);
    worker = new Worker(slot, generation, command, child, cpu);
    const started = worker;
    const emit = (stream: "stdout" | "stderr") => (line: string) =>
      this.#onOutput({ slot: slot.index, pid: started.pid, generation, stream, line });
    lines.stdout = new LineSplitter(emit("stdout"));
    lines.stderr = new LineSplitter(emit("stderr"));
    worker.notify = notify;
    this.#live.add(worker);
    if (!candidate) slot.current = worker;
    this.#onEvent({ type: "started", slot: slot.index, pid: worker.pid, generation });
    worker.timer = setTimeout(() => {
      if (started.state !== "starting") return;
      this.#onEvent({
        type: "not-ready",
        slot: slot.index,
        pid: started.pid,
        generation,
        ms: this.#options.readyTimeoutMs,
      });
      started.settleReadiness(false);
      started.killed = true;
      started.child.kill("SIGKILL");
    }, this.#options.readyTimeoutMs);
    void child.exited.then((exit) => {
      lines.stdout?.end();
      lines.stderr?.end();
      this.#exited(started, exit);
    });
    return worker;
  }

  /**
   * Deno's child_process clears O_NONBLOCK on the fds it passes, which
   * changes them for every process sharing the socket: a worker's accept4
   * would then block its event loop once the queue is empty. Set it again
   * at once; for the spawn itself, SO_RCVTIMEO on every group socket
   * (#guard) bounds such a blocking accept to a few milliseconds.
   */
  #keepNonBlocking(sockets: readonly RawSocket[]): void {
    const sys = this.#deps.sys();
    const c = sys.platform.constants;
    for (const socket of sockets) {
      const flags = sys.fcntl(socket.fd, c.F_GETFL, 0);
      if (flags >= 0 && (flags & c.O_NONBLOCK) === 0) sys.fcntl(socket.fd, c.F_SETFL, flags | c.O_NONBLOCK);
    }
  }

  #markReady(worker: Worker): void {
    if (worker.state !== "starting") return;
    worker.state = "ready";
    clearTimeout(worker.timer);
    const slot = worker.slot;
    this.#onEvent({
      type: "ready",
      slot: slot.index,
      pid: worker.pid,
      generation: worker.generation,
      ms: Date.now() - worker.startedAt,
    });
    worker.settleReadiness(true);
    // A self-bound worker that joined without its turn (one not using the preload) shows up here.
    this.#joined?.check();
    this.#joined?.steer();
    if (slot.current === worker) {
      if (slot.crashLooping) this.#notice(`slot ${slot.index} is serving again`);
      slot.crashLooping = false;
      slot.everReady = true;
      if (this.#slots.every((s) => s.everReady) && this.#settleReady) {
        this.#settleReady.resolve();
        this.#settleReady = undefined;
        // Started by a service manager with Type=notify: ready once every slot serves.
        this.#deps.notifyReady();
      }
    }
  }

  /** This process's libc by absolute path, which a Deno worker's `--allow-ffi=…` list needs (read once). */
  #libcPath(): string | undefined {
    if (this.#libc === undefined) {
      const sys = this.#deps.sys();
      this.#libc = libcPathIn(readProcFile(sys, "/proc/self/maps") ?? "", sys.libcName.split("/").pop() ?? "") ?? "";
    }
    return this.#libc === "" ? undefined : this.#libc;
  }

  /** A worker asks for its turn to join a group; without anchors (no selfBind), it has it at once. */
  #turnAsked(worker: Worker, reply: string): void {
    const address = worker.joining;
    worker.joining = undefined;
    if (address === undefined) return;
    if (this.#joined !== undefined) {
      this.#joined.requestTurn(worker, address, reply);
      return;
    }
    try {
      sendNotify(this.#deps.sys(), reply, "GO");
    } catch {
      // It gave up waiting.
    }
  }

  /** A worker's STATUS= line: the preload says so what the app did that it cannot serve. */
  #status(worker: Worker, message: string): void {
    worker.status = message;
    this.#onEvent({
      type: "status",
      slot: worker.slot.index,
      pid: worker.pid,
      generation: worker.generation,
      message,
    });
  }

  #exited(worker: Worker, exit: WorkerExit): void {
    clearTimeout(worker.timer);
    worker.notify?.close();
    worker.notify = undefined;
    const beforeReady = worker.state === "starting";
    worker.state = "exited";
    // Its members are gone: the kernel moved others into their places, and the program must follow at once.
    // (A full stop closes every member, in no order the record could follow, and needs no steering.)
    if (!this.#stopping) this.#joined?.left(worker);
    worker.settleReadiness(false);
    this.#live.delete(worker);
    const slot = worker.slot;
    this.#onEvent({
      type: "exited",
      slot: slot.index,
      pid: worker.pid,
      generation: worker.generation,
      code: exit.code,
      signal: exit.signal,
      expected: worker.stopRequested,
      beforeReady,
      ...(worker.status === undefined ? {} : { status: worker.status }),
    });
    if (worker.stopRequested || this.#stopping || slot.current !== worker || !this.#slots.includes(slot)) return;
    // A failure: restart the slot's worker, waiting longer after each failure in a row.
    slot.current = undefined;
    const now = Date.now();
    const delayMs = slot.tracker.failed(now, now - worker.startedAt);
    if (!slot.crashLooping && slot.tracker.crashLooping(now)) {
      slot.crashLooping = true;
      this.#onEvent({
        type: "crash-loop",
        slot: slot.index,
        failures: slot.tracker.recent(now),
        windowMs: this.#options.crashLoopWindowMs,
      });
    }
    this.#onEvent({ type: "restarting", slot: slot.index, generation: this.#generation, delayMs });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.#stopping || !this.#slots.includes(slot) || slot.current !== undefined) return;
      slot.restarts++;
      this.#start(slot, this.#generation, this.#command);
    }, delayMs);
  }

  /** SIGTERM, then SIGKILL after the grace time; resolves when the worker has exited. */
  #stopWorker(worker: Worker, graceMs = this.#options.graceMs): Promise<void> {
    if (worker.state === "exited") return Promise.resolve();
    if (!worker.stopRequested) {
      worker.stopRequested = true;
      worker.state = "stopping";
      worker.settleReadiness(false);
      clearTimeout(worker.timer);
      worker.child.kill("SIGTERM");
      worker.timer = setTimeout(() => {
        worker.killed = true;
        worker.child.kill("SIGKILL");
      }, graceMs);
    }
    return worker.child.exited.then(() => {});
  }

  #clean(worker: Worker, exit: WorkerExit): boolean {
    return !worker.killed && (exit.code === 0 || exit.signal === "SIGTERM");
  }

  workers(): WorkerInfo[] {
    const now = Date.now();
    return [...this.#live]
      .map((w) => ({
        slot: w.slot.index,
        pid: w.pid,
        generation: w.generation,
        runtime: w.command.runtime,
        state: w.state,
        uptimeMs: now - w.startedAt,
        restarts: w.slot.restarts,
        crashLooping: w.slot.crashLooping,
        sockets:
          this.#joined === undefined
            ? w.slot.sockets.map((socket, a) => this.#socketInfo(socket, a, w.slot.index))
            : this.#joined.sockets(w),
        ...(w.cpu === undefined ? {} : { cpu: w.cpu }),
      }))
      .sort((a, b) => a.slot - b.slot || a.generation - b.generation);
  }

  /**
   * Steers each group through slot 0's member. The kernel numbers a group's
   * sockets in listen (TCP) or bind (UDP) order, which is slot order: slots
   * are opened in order, and only the last ones are ever closed, after a
   * scale has stopped steering anything to them (#retire).
   */
  #startBalancer(): GroupBalancer {
    const balancer = new GroupBalancer(this.#deps.sys(), () => this.#balancedGroups(), {
      policy: this.#options.steer,
      intervalMs: this.#options.steerIntervalMs,
      stallMs: this.#options.stallMs,
      onStall: (group, slot, stalled, queued) => {
        const addr = this.addresses[group] as NetAddr;
        if (stalled) this.#onEvent({ type: "stalled", slot, addr, queued, ms: this.#options.stallMs });
        else this.#onEvent({ type: "unstalled", slot, addr });
      },
    });
    balancer.apply();
    return balancer;
  }

  /** Per group address, the members in the kernel's order; none for a shared inherited socket, which is no group of ours. */
  #balancedGroups(): BalancedGroup[] {
    const members = [...this.#slots, ...this.#retiring];
    return (this.#slots[0]?.sockets ?? []).map((first, a) => ({
      transport: first.transport,
      fds: this.#shared.has(first) ? [] : members.map((slot) => slot.sockets[a]?.fd ?? -1),
    }));
  }

  /** A slot socket with its accept queue; a socket whose queue cannot be read is listed without one. */
  #socketInfo(socket: RawSocket, group: number, slot: number): SlotSocket {
    const steering =
      this.#balancer === undefined || this.#shared.has(socket)
        ? {}
        : { steeredTo: !this.#balancer.excluded(group, slot) };
    if (socket.fd < 0) return { addr: socket.localAddr, ...steering };
    try {
      const { transport: _, ...stats } = socketStats(this.#deps.sys(), socket.fd);
      return { addr: socket.localAddr, ...stats, ...steering };
    } catch {
      return { addr: socket.localAddr, ...steering };
    }
  }

  #serialized<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => {});
    return run;
  }

  reload(change: Partial<WorkerCommand> = {}): Promise<ReloadResult> {
    const command = resolveCommand(change, this.#command, this.#deps.host.runtime);
    return this.#serialized(async () => {
      if (this.#stopping) return { ok: false, generation: this.#generation, reason: "the supervisor is stopping" };
      const started = Date.now();
      const generation = this.#generation + 1;
      this.#onEvent({ type: "reload", generation });
      const candidates = this.#slots.map((slot) => this.#start(slot, generation, command, true));
      const ready = await Promise.all(candidates.map((w) => w.readiness));
      if (this.#stopping || !ready.every(Boolean)) {
        const failed = candidates.filter((_, i) => !ready[i]).map((w) => `slot ${w.slot.index}`);
        const reason = this.#stopping
          ? "the supervisor is stopping"
          : `${failed.join(", ")} of generation ${generation} did not become ready; generation ${this.#generation} keeps serving`;
        await Promise.all(candidates.map((w) => this.#stopWorker(w, 0)));
        this.#onEvent({ type: "reload-failed", generation, reason });
        return { ok: false, generation: this.#generation, reason };
      }
      this.#generation = generation;
      this.#command = command;
      const old: Worker[] = [];
      for (const [i, slot] of this.#slots.entries()) {
        clearTimeout(slot.restartTimer);
        slot.restartTimer = undefined;
        if (slot.current && slot.current !== candidates[i]) old.push(slot.current);
        slot.current = candidates[i];
        slot.everReady = true;
      }
      // Old workers still alive that were not current (a previous reload's stragglers) go too.
      for (const worker of this.#live) if (worker.generation < generation && !old.includes(worker)) old.push(worker);
      if (this.#joined !== undefined) await this.#stopJoined(old);
      else await Promise.all(old.map((w) => this.#stopWorker(w)));
      this.#onEvent({ type: "reloaded", generation, ms: Date.now() - started });
      return { ok: true, generation };
    });
  }

  scale(workers: number): Promise<void> {
    if (!Number.isInteger(workers) || workers < 1)
      throw new RangeError(`workers must be an integer of at least 1, got ${workers}`);
    return this.#serialized(async () => {
      if (this.#stopping) return;
      const from = this.#slots.length;
      const added: Worker[] = [];
      while (this.#slots.length < workers) {
        const slot = this.#newSlot(this.#slots.length, this.#openSlotSockets(this.#slots.length));
        this.#slots.push(slot);
        added.push(this.#start(slot, this.#generation, this.#command));
      }
      const removed = this.#slots.splice(workers);
      for (const slot of removed) clearTimeout(slot.restartTimer);
      this.#balancer?.apply();
      await Promise.all([this.#retire(removed), ...added.map((w) => w.readiness)]);
      this.#onEvent({ type: "scaled", from, to: workers });
    });
  }

  /**
   * Removes slots without resetting what waits in their queues, with or
   * without net.ipv4.tcp_migrate_req: new connections are steered to the
   * remaining slots, the retiring workers accept what their queues hold,
   * and only then are they stopped and their sockets closed. Anything still
   * queued at the close (a worker that did not drain in the grace time) is
   * reset by the kernel, or moved where tcp_migrate_req is on, and said.
   */
  async #retire(removed: Slot[]): Promise<void> {
    if (removed.length === 0) return;
    if (this.#joined !== undefined) {
      await this.#stopJoined([...this.#live].filter((w) => removed.includes(w.slot)));
      return;
    }
    this.#retiring = removed;
    this.#balancer?.serveOnly(this.#slots.length);
    if (this.#balancer !== undefined) await this.#drained(removed);
    const stops: Promise<void>[] = [];
    for (const worker of this.#live) if (removed.includes(worker.slot)) stops.push(this.#stopWorker(worker));
    await Promise.all(stops);
    for (const slot of removed) {
      for (const socket of slot.sockets) {
        const waiting = this.#waiting(socket);
        if (waiting > 0) {
          const what = socket.transport === "udp" ? `${waiting} bytes of datagrams` : `${waiting} connection(s)`;
          this.#notice(
            `slot ${slot.index}: ${what} still queued on ${formatFdName(socket.localAddr)} when it closed, which the kernel drops unless net.ipv4.tcp_migrate_req moves them`,
          );
        }
        socket.close();
      }
    }
    this.#retiring = [];
    this.#balancer?.serveOnly(Number.POSITIVE_INFINITY);
  }

  /**
   * What waits on a slot's own socket: connections (TCP) or bytes of
   * datagrams (UDP); 0 for a shared socket, which the other slots still
   * serve, and for one whose queue cannot be read.
   */
  #waiting(socket: RawSocket): number {
    if (this.#shared.has(socket) || socket.fd < 0) return 0;
    try {
      const stats = socketStats(this.#deps.sys(), socket.fd);
      return stats.transport === "tcp" ? stats.queued : stats.queuedBytes;
    } catch {
      return 0;
    }
  }

  /** Resolves once every socket of `slots` has had an empty queue for RETIRE_SETTLE_MS, or after the grace time. */
  #drained(slots: readonly Slot[]): Promise<void> {
    return this.#settled(
      () => slots.every((slot) => slot.sockets.every((socket) => this.#waiting(socket) === 0)),
      RETIRE_SETTLE_MS,
    );
  }

  /** Resolves once `empty()` has held for `settleMs`, or after the grace time, or when the supervisor stops. */
  #settled(empty: () => boolean, settleMs: number, sampleMs = this.#options.steerIntervalMs): Promise<void> {
    const started = Date.now();
    let emptySince: number | undefined;
    return new Promise((resolve) => {
      const check = (): void => {
        const now = Date.now();
        emptySince = empty() ? (emptySince ?? now) : undefined;
        const settled = emptySince !== undefined && now - emptySince >= settleMs;
        if (settled || this.#stopping || now - started >= this.#options.graceMs) resolve();
        else setTimeout(check, sampleMs);
      };
      check();
    });
  }

  /**
   * Stops self-bound workers that the steering has left out (an old
   * generation, or slots scaled away) so that closing their sockets resets
   * nothing: once their queues have stayed empty (handshakes in flight
   * settle into them meanwhile), one at a time, each only after its queue
   * has stayed empty again, since each close moves another member and the
   * moment before the program follows can send a connection anywhere.
   */
  async #stopJoined(workers: readonly Worker[]): Promise<void> {
    const joined = this.#joined as JoinedGroups<Worker>;
    joined.steer();
    await this.#settled(() => workers.every((w) => joined.queued(w) === 0), RETIRE_SETTLE_MS, JOINED_SAMPLE_MS);
    for (const worker of workers) {
      await this.#settled(() => joined.queued(worker) === 0, STOP_SETTLE_MS, JOINED_SAMPLE_MS);
      const waiting = joined.queued(worker);
      if (waiting > 0) {
        this.#notice(
          `slot ${worker.slot.index}: ${waiting} connection(s) still queued on pid ${worker.pid}'s socket when it stopped, which the kernel drops unless net.ipv4.tcp_migrate_req moves them`,
        );
      }
      await this.#stopWorker(worker);
    }
  }

  stop(signal: string | null = null): Promise<boolean> {
    if (this.#stopping) return this.stopped;
    this.#stopping = true;
    this.#onEvent({ type: "stopping", signal });
    this.#balancer?.stop();
    this.#settleReady?.reject(new Error("the supervisor stopped before every worker was ready"));
    void (async () => {
      for (const slot of this.#slots) clearTimeout(slot.restartTimer);
      const workers = [...this.#live];
      const exits = await Promise.all(
        workers.map(async (w) => {
          await this.#stopWorker(w);
          return this.#clean(w, await w.child.exited);
        }),
      );
      for (const slot of [...this.#slots, ...this.#retiring]) for (const socket of slot.sockets) socket.close();
      this.#joined?.close();
      this.#metrics?.close();
      const clean = exits.every(Boolean);
      this.#onEvent({ type: "stopped", clean });
      // Signals stay handled until here: a second SIGINT kills the workers instead of orphaning them.
      for (const remove of this.#signals.splice(0)) remove();
      this.#settleStopped(clean);
    })();
    return this.stopped;
  }

  /** Follows the signals `reuseport run` answers to, as gunicorn and nginx do. */
  handleSignals(): void {
    const on = (signal: SupervisorSignal, handler: () => void): void => {
      this.#signals.push(this.#deps.host.onSignal(signal, handler));
    };
    const stop = (signal: SupervisorSignal) => () => {
      // A second SIGINT/SIGTERM does not wait for the grace time.
      if (this.#stopping) {
        for (const worker of this.#live) {
          worker.killed = true;
          worker.child.kill("SIGKILL");
        }
        return;
      }
      void this.stop(signal);
    };
    on("SIGTERM", stop("SIGTERM"));
    on("SIGINT", stop("SIGINT"));
    on("SIGHUP", () => void this.reload());
    on("SIGTTIN", () => void this.scale(this.#slots.length + 1));
    on("SIGTTOU", () => {
      if (this.#slots.length > 1) void this.scale(this.#slots.length - 1);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts a supervisor; see {@link Supervisor}. */
export function supervise(deps: SupervisorDeps, options: SuperviseOptions): Supervisor {
  const supervisor = new GroupSupervisor(deps, options);
  if (options.signals === true) supervisor.handleSignals();
  return supervisor;
}
