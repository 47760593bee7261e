import type { Sys } from "../ffi/sys.ts";
import { formatHostPort, formatIp, parseHost } from "../socket/_ip.ts";
import type { ResolvedSocketOptions } from "../socket/_options.ts";
import { scratch } from "../socket/_scratch.ts";
import { decodeSockaddr } from "../socket/_sockaddr.ts";
import { errnoName, InheritedSocketError } from "../socket/errors.ts";
import { getIntOption, socklen } from "../socket/sockopt.ts";
import type { Family, InheritedSocket, NetAddr, Transport } from "../types.ts";
import { awaitJoinTurn, joined } from "./join-turn.ts";
import { formatFdName, parseFdName } from "./names.ts";
import { sendNotify } from "./notify.ts";
import { endWithSupervisor } from "./supervisor-death.ts";

/** SD_LISTEN_FDS_START: inherited fds are numbered from here. */
const FIRST_FD = 3;

/** What socket activation needs from the runtime. */
export interface ActivationHost {
  /** An environment variable; undefined when unset or not readable (Deno without env permission). */
  env(name: string): string | undefined;
  /** This process's pid. */
  pid(): number;
  /** Runs `handler` on SIGTERM without keeping the process alive; returns what removes it. */
  onTerminate(handler: () => void): () => void;
}

/** An inherited socket taken over by a call: what the RawSocket is built from. */
export interface ClaimedSocket {
  readonly fd: number;
  readonly transport: Transport;
  readonly family: Family;
  readonly localAddr: NetAddr;
}

/** A listener or datagram socket serving an inherited socket: drained on SIGTERM. */
export interface Drainable {
  drain(): void;
}

/** What openSocket, listen and listenDatagram consult before binding a socket of their own. */
export interface Inheritance {
  /**
   * The inherited socket for these options, now marked adopted; undefined
   * when none has their transport and port (port 0 never matches).
   * Throws an InheritedSocketError for a bad inheritance, another address on
   * an inherited port, or a socket adopted already.
   */
  claim(options: ResolvedSocketOptions): ClaimedSocket | undefined;
  /** `listen()` or `listenDatagram()` now serves the claimed `fd` with `target`. */
  serving(fd: number, target: Drainable): void;
  /**
   * A socket of this process's own for these options (none was inherited)
   * is bound and listening (`ok`), or failed to: in a `--self-bind`
   * worker, the end of its turn to join (see claim()).
   */
  bound?(options: ResolvedSocketOptions, ok: boolean): void;
}

interface Entry extends ClaimedSocket {
  readonly name: string;
  adopted: boolean;
  served: boolean;
}

interface Inherited {
  readonly entries: readonly Entry[];
  /** The first fd that failed validation: then nothing is adopted, and every use throws it. */
  readonly failure: InheritedSocketError | undefined;
}

function endpoint(addr: { hostname: string; port: number }): string {
  return formatHostPort(addr.hostname, addr.port);
}

/** An int SOL_SOCKET option, or the `-errno` of getsockopt. */
const intOption = (sys: Sys, fd: number, name: number): number =>
  getIntOption(sys, fd, sys.platform.constants.SOL_SOCKET, name);

/** Checks one inherited fd against its name; sets FD_CLOEXEC first, as sd_listen_fds does. */
function inspect(sys: Sys, fd: number, name: string): Entry {
  const c = sys.platform.constants;
  const fail = (reason: InheritedSocketError["reason"], detail: string): never => {
    throw new InheritedSocketError(fd, name, reason, detail);
  };
  const flags = sys.fcntl(fd, c.F_GETFD, 0);
  if (flags < 0) fail("not-a-socket", `is not open (fcntl ${errnoName(sys, -flags)})`);
  sys.fcntl(fd, c.F_SETFD, flags | c.FD_CLOEXEC);

  const type = intOption(sys, fd, c.SO_TYPE);
  if (type < 0) {
    const code = errnoName(sys, -type);
    fail("not-a-socket", code === "ENOTSOCK" ? "is not a socket" : `cannot be read as a socket (${code})`);
  }
  const transport: Transport | undefined = type === c.SOCK_STREAM ? "tcp" : type === c.SOCK_DGRAM ? "udp" : undefined;
  const named = parseFdName(name);
  const kind = transport === "tcp" ? "a stream (TCP) socket" : "a datagram (UDP) socket";
  if (transport === undefined) fail("wrong-type", `is a socket of type ${type}, neither stream nor datagram`);
  else if (named !== undefined && named.transport !== transport) {
    fail("wrong-type", `is ${kind}, but its name says ${named.transport}`);
  }
  const checkedTransport = transport as Transport;

  const { bytes } = scratch(sys).sockaddr;
  const got = sys.getsockname(fd, bytes, socklen(sys, bytes.length));
  const decoded = got < 0 ? undefined : decodeSockaddr(sys.platform, bytes);
  if (decoded === undefined) {
    fail("not-inet", got < 0 ? `getsockname failed (${errnoName(sys, -got)})` : "is not an IPv4 or IPv6 socket");
  }
  const address = decoded as NonNullable<typeof decoded>;
  const localAddr: NetAddr = { transport: checkedTransport, hostname: formatIp(address), port: address.port };
  if (named !== undefined) {
    const ip = parseHost(named.hostname);
    const expected = ip === undefined ? named.hostname : formatIp(ip);
    if (expected !== localAddr.hostname || named.port !== localAddr.port) {
      fail("wrong-address", `is bound to ${endpoint(localAddr)}, but its name says ${endpoint(named)}`);
    }
  }
  if (localAddr.port === 0) fail("wrong-address", "is not bound to a port");
  if (checkedTransport === "tcp" && intOption(sys, fd, c.SO_ACCEPTCONN) !== 1) {
    fail("not-listening", "is a TCP socket that is not listening");
  }
  return {
    fd,
    name,
    transport: checkedTransport,
    family: address.family === 4 ? "IPv4" : "IPv6",
    localAddr,
    adopted: false,
    served: false,
  };
}

/**
 * Reads the activation variables as sd_listen_fds(3) does: nothing when
 * LISTEN_PID is unset or another process's; LISTEN_FDS fds from 3, named by
 * LISTEN_FDNAMES ("unknown" without it). The variables are left as they
 * are: a child's pid never equals LISTEN_PID, so children ignore them.
 */
function readInherited(sys: Sys, host: ActivationHost): Inherited {
  const none: Inherited = { entries: [], failure: undefined };
  const pid = host.env("LISTEN_PID");
  if (pid === undefined || !/^\d+$/.test(pid) || Number(pid) !== host.pid()) return none;
  const count = host.env("LISTEN_FDS");
  if (count === undefined) return none;
  const invalid = (detail: string): Inherited => ({
    entries: [],
    failure: new InheritedSocketError(-1, "", "invalid-environment", detail),
  });
  if (!/^\d+$/.test(count)) return invalid(`LISTEN_FDS must be a number of fds, got ${JSON.stringify(count)}`);
  const n = Number(count);
  const names = host.env("LISTEN_FDNAMES")?.split(":") ?? Array.from({ length: n }, () => "unknown");
  if (names.length !== n) {
    return invalid(`LISTEN_FDNAMES has ${names.length} names for LISTEN_FDS=${n}`);
  }
  const entries: Entry[] = [];
  let failure: InheritedSocketError | undefined;
  for (let i = 0; i < n; i++) {
    try {
      entries.push(inspect(sys, FIRST_FD + i, names[i] as string));
    } catch (error) {
      if (!(error instanceof InheritedSocketError)) throw error;
      failure ??= error;
    }
  }
  return failure === undefined ? { entries, failure } : { entries: [], failure };
}

/**
 * Socket activation for one process: the inherited sockets, read once on
 * first use; which of them calls took over; readiness (sd_notify) and the
 * graceful stop on SIGTERM once listeners serve them.
 */
export class Activation implements Inheritance {
  readonly #sys: () => Sys;
  readonly #host: ActivationHost;
  #inherited: Inherited | undefined;
  readonly #targets = new Set<Drainable>();
  #readySent = false;
  /** Whether this worker has asked to end with its supervisor (once is enough). */
  #watchingSupervisor = false;
  #removeSignal: (() => void) | undefined;
  #terminated = false;
  /** The self-bound address whose turn to join this process holds. */
  #joining: string | undefined;

  constructor(sys: () => Sys, host: ActivationHost) {
    this.#sys = sys;
    this.#host = host;
  }

  #entries(): readonly Entry[] {
    this.#inherited ??= readInherited(this.#sys(), this.#host);
    if (this.#inherited.failure !== undefined) throw this.#inherited.failure;
    return this.#inherited.entries;
  }

  list(): InheritedSocket[] {
    return this.#entries().map(({ fd, name, transport, localAddr, adopted }) => ({
      fd,
      name,
      transport,
      localAddr,
      adopted,
    }));
  }

  claim(options: ResolvedSocketOptions): ClaimedSocket | undefined {
    if (options.port === 0) return undefined;
    const candidates = this.#entries().filter(
      (e) => e.transport === options.transport && e.localAddr.port === options.port,
    );
    const first = candidates[0];
    if (first === undefined) {
      this.#awaitTurn(options);
      return undefined;
    }
    const entry = candidates.find((e) => e.localAddr.hostname === options.hostname);
    const asked = `${options.transport} ${endpoint(options)}`;
    if (entry === undefined) {
      throw new InheritedSocketError(
        first.fd,
        first.name,
        "address-mismatch",
        `this process inherited ${endpoint(first.localAddr)} but asked for ${asked}; binding that too would make a second group on the port (ask for hostname "${first.localAddr.hostname}")`,
      );
    }
    if (entry.adopted) {
      throw new InheritedSocketError(entry.fd, entry.name, "already-adopted", `was taken over already (${asked})`);
    }
    entry.adopted = true;
    return entry;
  }

  serving(fd: number, target: Drainable): void {
    const entries = this.#entries();
    const entry = entries.find((e) => e.fd === fd && e.adopted);
    if (entry === undefined) return;
    entry.served = true;
    this.#targets.add(target);
    if (this.#removeSignal === undefined && !this.#terminated) {
      this.#removeSignal = this.#host.onTerminate(() => this.#terminate());
    }
    if (!this.#readySent && entries.every((e) => e.served)) {
      try {
        this.notifyReady();
      } catch {
        // Automatic readiness cannot fail the listen() that triggered it; notifyReady() reports errors.
      }
    }
  }

  /**
   * In a worker of a `--self-bind` supervisor (REUSEPORT_SELF_BIND names the
   * address, LISTEN_PID this process), a TCP socket of its own joins the
   * supervisor's group: it waits for its turn, so the supervisor knows each
   * member's place (see join-turn.ts); bound() ends the turn.
   */
  #awaitTurn(options: ResolvedSocketOptions): void {
    if (options.transport !== "tcp") return;
    const names = this.#host.env("REUSEPORT_SELF_BIND");
    const path = this.#host.env("NOTIFY_SOCKET");
    if (names === undefined || path === undefined || path === "") return;
    if (this.#host.env("LISTEN_PID") !== String(this.#host.pid())) return;
    const name = formatFdName({ transport: "tcp", hostname: formatIp(options.ip), port: options.port });
    if (!names.split(":").includes(name)) return;
    awaitJoinTurn(this.#sys(), path, name, this.#host.pid());
    this.#joining = name;
  }

  bound(options: ResolvedSocketOptions, ok: boolean): void {
    const name = this.#joining;
    if (name === undefined || options.transport !== "tcp") return;
    this.#joining = undefined;
    const path = this.#host.env("NOTIFY_SOCKET");
    if (path === undefined) return;
    try {
      joined(this.#sys(), path, name, ok);
    } catch {
      // The supervisor gives the turn to the next worker after a while anyway.
    }
  }

  /** SIGTERM: tell the manager, then drain every listener and datagram socket on an inherited socket. */
  #terminate(): void {
    this.#terminated = true;
    this.#removeSignal?.();
    this.#removeSignal = undefined;
    try {
      this.notify("STOPPING=1");
    } catch {
      // The manager is gone or unreachable; draining matters more.
    }
    for (const target of this.#targets) target.drain();
  }

  /** Sends `message` to NOTIFY_SOCKET: true when sent, false when there is none. */
  notify(message: string): boolean {
    const path = this.#host.env("NOTIFY_SOCKET");
    if (path === undefined || path === "") return false;
    sendNotify(this.#sys(), path, message);
    return true;
  }

  notifyReady(): boolean {
    this.#readySent = true;
    const sent = this.notify("READY=1");
    if (!this.#watchingSupervisor) {
      this.#watchingSupervisor = true;
      endWithSupervisor(this.#sys(), this.#host.env("REUSEPORT_SUPERVISOR_PID"));
    }
    return sent;
  }
}
