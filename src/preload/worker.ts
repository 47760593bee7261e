import { InheritedSocketError } from "../socket/errors.ts";
import type { InheritedSocket, NetAddr } from "../types.ts";
import { describeServed, type ListenMatch, matchListen, type OfferedAddress } from "./match.ts";

/** A server the preload made serve an inherited socket: stops on SIGTERM, calling `done` once its work is over. */
export interface DrainTarget {
  drain(done: () => void): void;
}

interface Entry {
  readonly socket: InheritedSocket;
  taken: boolean;
  served: boolean;
  /** A socket of our own (--self-bind) whose listen the supervisor was told of. */
  announced: boolean;
  /** This process holds the supervisor's turn to join for it (join() waited for it; nothing said since). */
  turn: boolean;
}

/** What the preload needs from the library and the runtime it runs in. */
export interface PreloadHost {
  /** The sockets this process inherited from its supervisor (none when it is no supervised worker). */
  inherited(): readonly InheritedSocket[];
  /** Takes over the inherited socket at `fd`; the caller's server owns the fd from then on. */
  claim(socket: InheritedSocket): number;
  /** READY=1 to the supervisor. */
  notifyReady(): void;
  /**
   * Waits (synchronously, bounded) for the supervisor's leave to join the
   * group of `address` (an fd name) with a socket of this process's own:
   * the supervisor records members in the order they listen.
   */
  awaitTurn(address: string): void;
  /** Tells the supervisor this process's socket for `address` listens now (`listening` false: it failed to). */
  joined(address: string, listening: boolean): void;
  /** An sd_notify message to the supervisor ("STATUS=…", "STOPPING=1"); ignored where nobody listens. */
  notify(message: string): void;
  /** Runs `handler` on SIGTERM; `others()` tells whether anything else (the app) handles SIGTERM too. */
  onTerminate(handler: () => void): { others(): boolean; remove(): void };
  exit(code: number): void;
  /** The code the process ends with when it ends by itself. */
  setExitCode(code: number): void;
  /** A timer that does not hold the process. */
  after(ms: number, run: () => void): void;
  /** How long a drain may take before the process exits anyway (below the supervisor's grace time). */
  readonly drainBoundMs: number;
}

/**
 * The worker side of an unchanged app under `reuseport run`: listens on
 * the supervisor's addresses become the inherited sockets, READY=1 goes
 * out once every inherited TCP address is served, and SIGTERM drains those
 * servers unless the app handles SIGTERM itself. Runtime-free: the
 * runtime's hooks (src/runtime/*-preload.ts) call it.
 */
export class PreloadedWorker {
  readonly #host: PreloadHost;
  #offered: Entry[] | undefined;
  readonly #targets: DrainTarget[] = [];
  #terminate: { others(): boolean; remove(): void } | undefined;
  #ready = false;
  #stopping = false;

  constructor(host: PreloadHost) {
    this.#host = host;
  }

  #entries(): Entry[] {
    this.#offered ??= this.#host
      .inherited()
      .filter((s) => s.transport === "tcp" && !s.adopted)
      .map((socket) => ({ socket, taken: false, served: false, announced: false, turn: false }));
    return this.#offered;
  }

  /** Whether this process is a supervised worker with TCP sockets to serve. */
  get supervised(): boolean {
    return this.#entries().length > 0;
  }

  /** Whether SIGTERM has started the drain. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** The addresses on offer, as matchListen takes them. */
  offered(): OfferedAddress[] {
    return this.#entries().map((e) => ({ addr: e.socket.localAddr, taken: e.taken }));
  }

  /** What the supervisor serves, for messages. */
  describe(): string {
    return describeServed(this.offered());
  }

  /**
   * Decides what a listen on `port` becomes; on "serve" the socket is taken
   * and its fd returned with the match. "elsewhere" and "mismatch" are told
   * to the supervisor's log at once.
   */
  listen(port: number, host: string | undefined): ListenMatch & { fd?: number } {
    const match = matchListen(port, host, this.offered());
    if (match.kind !== "serve") {
      // A line for the supervisor's log: the app may well swallow the error, or listen elsewhere for good.
      this.#host.notify(`STATUS=${match.message}`);
      return match;
    }
    const entry = this.#entries()[match.index] as Entry;
    // With --self-bind the claim binds a socket of our own, and the library takes its turn to join.
    const fd = this.#host.claim(entry.socket);
    entry.taken = true;
    if (entry.socket.fd < 0) entry.announced = true;
    return { ...match, fd };
  }

  /**
   * For a server that cannot serve an fd (Bun.serve, Deno.serve): which
   * served address a serve on `port` joins, with its own socket bound
   * with SO_REUSEPORT on that address. "elsewhere" and "mismatch" are told
   * to the supervisor as for listen().
   */
  join(port: number, host: string | undefined): ListenMatch & { addr?: InheritedSocket["localAddr"] } {
    const match = matchListen(port, host, this.offered());
    if (match.kind !== "serve") {
      this.#host.notify(`STATUS=${match.message}`);
      return match;
    }
    const entry = this.#entries()[match.index] as Entry;
    entry.taken = true;
    // The server listens once this returns; serving() then says so.
    if (entry.socket.fd < 0) {
      this.#host.awaitTurn(entry.socket.name);
      entry.turn = true;
    }
    return { ...match, addr: entry.socket.localAddr };
  }

  /**
   * For `server` (Bun.serve, Deno.serve), which cannot serve an fd: the
   * served address a serve on `port` joins with reusePort, or undefined to
   * serve as asked (another port). Throws, with exit code 1 for an app that
   * catches it, where it may not join: another host on the served port, or
   * (without --self-bind) a socket the supervisor hands over, whose queue
   * a join beside it would leave to nobody.
   */
  joinServe(server: string, port: number, host: string | undefined): { index: number; addr: NetAddr } | undefined {
    const match = this.join(port, host);
    if (match.kind === "elsewhere") return undefined;
    let message = match.kind === "mismatch" ? match.message : undefined;
    if (match.kind === "serve" && this.inherited(match.index)) {
      message = `${server} cannot serve the supervisor's ${this.describe()}: it takes no inherited fd; run reuseport run with --self-bind, and ${server} joins the group with reusePort`;
      this.refused(message);
    }
    if (message !== undefined || match.kind !== "serve") {
      this.#host.setExitCode(1);
      throw new InheritedSocketError(-1, "", "address-mismatch", message ?? "");
    }
    return { index: match.index, addr: match.addr as NetAddr };
  }

  /**
   * Runs `serve` for the join at `index` (it listens before it returns),
   * then counts it as served, draining with `drain`; a serve that throws
   * ends the worker's turn to join.
   */
  serveJoined<S>(index: number, serve: () => S, drain: (server: S) => Promise<unknown>): S {
    let server: S;
    try {
      server = serve();
    } catch (error) {
      this.joinFailed(index);
      throw error;
    }
    this.serving(index, { drain: (done) => void drain(server).then(done, done) });
    return server;
  }

  /** The serve that join() let through failed: the supervisor's turn is over, with no member to record. */
  joinFailed(index: number): void {
    const entry = this.#entries()[index];
    if (entry === undefined || !entry.turn) return;
    entry.turn = false;
    entry.taken = false;
    this.#host.joined(entry.socket.name, false);
  }

  /** Tells the supervisor's log why a listen fails, for an app that swallows the error. */
  refused(message: string): void {
    this.#host.notify(`STATUS=${message}`);
  }

  /** Whether served address `index` is an inherited socket (an fd to serve) rather than one to bind (--self-bind). */
  inherited(index: number): boolean {
    return (this.#entries()[index]?.socket.fd ?? -1) >= 0;
  }

  /** The first served port: where a serve that names none goes (Bun.serve reads PORT; Deno.serve's 8000 would go nowhere). */
  defaultPort(): number | undefined {
    return this.#entries()[0]?.socket.localAddr.port;
  }

  /** The server for match `index` is listening: READY=1 once every inherited TCP address is. */
  serving(index: number, target: DrainTarget): void {
    const entries = this.#entries();
    const entry = entries[index];
    if (entry === undefined) return;
    entry.served = true;
    if (entry.socket.fd < 0) this.#announce(entry);
    this.#targets.push(target);
    this.#terminate ??= this.#host.onTerminate(() => this.#stop());
    if (!this.#ready && entries.every((e) => e.served)) {
      this.#ready = true;
      this.#host.notifyReady();
    }
  }

  #announce(entry: Entry): void {
    if (entry.announced) return;
    entry.announced = true;
    entry.turn = false;
    this.#host.joined(entry.socket.name, true);
  }

  /**
   * SIGTERM. An app that handles it keeps its own stop; otherwise every
   * server the preload made drains, and the process exits 0 once all are
   * done, or when the bound is reached.
   */
  #stop(): void {
    const terminate = this.#terminate;
    if (terminate === undefined || this.#stopping) return;
    if (terminate.others()) return;
    this.#stopping = true;
    terminate.remove();
    this.#host.notify("STOPPING=1");
    // Installed with the first server served, so there is at least one target.
    let left = this.#targets.length;
    for (const target of this.#targets) {
      let finished = false;
      target.drain(() => {
        if (finished) return;
        finished = true;
        if (--left === 0) this.#host.exit(0);
      });
    }
    this.#host.after(this.#host.drainBoundMs, () => {
      if (left === 0) return;
      this.#host.notify(
        `STATUS=still ${left} server(s) draining after ${this.#host.drainBoundMs} ms (the bound under the supervisor's grace time): exiting`,
      );
      this.#host.exit(0);
    });
  }
}
