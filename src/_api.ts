import { Activation } from "./activation/inherited.ts";
import { getAffinity as getAffinityWith, setAffinity as setAffinityWith } from "./cpu/affinity.ts";
import type { FdWatch } from "./ffi/readiness.ts";
import type { Sys } from "./ffi/sys.ts";
import { inspectPort as inspectPortWith, type PortReport } from "./inspect/inspect.ts";
import type { RuntimeAdapter } from "./runtime/_adapter.ts";
import { listenDatagram as listenDatagramWith } from "./runtime/_datagram.ts";
import { listen as listenWith } from "./runtime/_listener.ts";
import { accept4 as accept4With } from "./socket/accept.ts";
import { getIncomingCpu as getIncomingCpuWith, setIncomingCpu as setIncomingCpuWith } from "./socket/incoming-cpu.ts";
import { openSocket as openSocketWith } from "./socket/open.ts";
import { listenOverflows as listenOverflowsWith, socketStats as socketStatsWith } from "./socket/stats.ts";
import { type SteeringPolicy, steer as steerWith } from "./steer/steer.ts";
import type {
  AcceptedSocket,
  DatagramOptions,
  DatagramSocket,
  DatagramSocketStats,
  InheritedSocket,
  Listener,
  ListenOptions,
  RawSocket,
  SocketOptions,
  SocketStats,
} from "./types.ts";

/** What every runtime entry exports as functions; the entries differ only in how they load libc. */
export interface Api {
  /**
   * Opens a socket in the address's SO_REUSEPORT group: socket, setsockopt
   * (SO_REUSEPORT, SO_REUSEADDR, IPV6_V6ONLY), bind and, for TCP, listen.
   * The fd is non-blocking and close-on-exec. When the process inherited a
   * socket on the same transport, address and port (socket activation, see
   * {@link inheritedSockets}), that socket is adopted instead, as its owner
   * set it up; the caller serving it itself then calls {@link notifyReady}.
   *
   * @throws {TypeError | RangeError} for invalid options, before any system call.
   * @throws {SocketError} when a system call fails; no fd is left open.
   * @throws {InheritedSocketError} when an inherited socket is unusable, has
   *   the port but another address, or was adopted already.
   */
  openSocket(options: SocketOptions): RawSocket;
  /**
   * Listens on a TCP socket in the address's SO_REUSEPORT group and accepts
   * connections as {@link Conn}s with Web Streams, with accept4 and the
   * library's own reads and writes on an epoll set (`engine: "epoll"`, the
   * default on Linux, where it costs the least CPU per request), the
   * runtime's own acceptor (`engine: "native"`, the default elsewhere, and
   * the engine that gives each Conn a runtime socket), or accept4 through
   * FFI handing each fd to the runtime (`engine: "accept4"`). An inherited socket on the
   * same address is adopted instead (see {@link inheritedSockets}); once
   * every inherited socket is served so, READY=1 goes to the manager, and
   * SIGTERM drains them ({@link Listener.drain}).
   *
   * Every engine serves the socket in the calling process, in a node:cluster
   * worker (PM2's cluster mode) too: the native engine's net.Server never
   * asks the primary, as its own `listen({ fd })` would there. As with any
   * net.Server, node:net (Node, Deno) tells that it could not listen only a
   * moment later, not from listen(): the next `accept()` and every later one
   * reject with its error.
   *
   * @throws {TypeError | RangeError} for invalid options, before any system call.
   * @throws {SocketError} when a system call fails; no fd is left open.
   * @throws {InheritedSocketError} as for {@link openSocket}.
   */
  listen(options: ListenOptions): Listener;
  /**
   * Binds a UDP socket in the address's SO_REUSEPORT group and receives
   * datagrams in batches (recvmmsg) as they arrive, watched on the
   * runtime's event loop (Node) or by an off-thread poll (Bun, Deno).
   * An inherited socket on the same address is adopted instead, as by
   * {@link listen} (SIGTERM drains it: {@link DatagramSocket.drain}).
   *
   * @throws {TypeError | RangeError} for invalid options, before any system call.
   * @throws {SocketError} when a system call fails; no fd is left open.
   * @throws {InheritedSocketError} as for {@link openSocket}.
   */
  listenDatagram(options: DatagramOptions): DatagramSocket;
  /**
   * accept4(2) on a listening fd: the next connection, or null when none is
   * waiting. `flags` default to SOCK_NONBLOCK | SOCK_CLOEXEC. The returned
   * fd is the caller's to adopt (or hand to a worker) and close.
   *
   * @throws {SocketError} for failures other than EAGAIN (EINTR and ECONNABORTED are retried).
   */
  accept4(fd: number, flags?: number): AcceptedSocket | null;
  /**
   * Calls `onReadable` on the JavaScript thread whenever `fd` is readable
   * (level-triggered), without blocking and without polling in a loop: the
   * readiness the accept4 engine and datagram sockets use (libuv on Node,
   * one off-thread poll(2) per process on Bun and Deno). For programs that
   * drive raw fds themselves, such as `accept4` loops. Close the watch
   * before closing the fd.
   */
  watchReadable(fd: number, onReadable: () => void): FdWatch;
  /**
   * A socket's queue as the kernel reports it (Linux). A listening TCP
   * socket: its accept queue from TCP_INFO — `queued` connections wait for
   * accept(2), `backlog` may (the Recv-Q and Send-Q `ss -lt` shows). A UDP
   * socket: `queuedBytes` waiting and `drops` since it opened, from
   * /proc/net/udp. Any fd will do, a group member inherited from another
   * process too. `Listener.stats()` adds what the listener holds.
   *
   * @throws {RangeError} for an fd that is not a non-negative integer.
   * @throws {TypeError} for a TCP socket that is not listening, or a socket of another type.
   * @throws {SocketError} when getsockopt fails (EBADF, ENOTSOCK).
   */
  socketStats(fd: number): SocketStats | DatagramSocketStats;
  /**
   * Connections the kernel turned away at a full accept queue, for this
   * network namespace since boot, every socket together: TcpExt
   * ListenOverflows and ListenDrops from /proc/net/netstat (what
   * `netstat -s` prints). Read through libc. Linux.
   */
  listenOverflows(): { readonly overflows: number; readonly drops: number };
  /**
   * Every socket bound to `port` on this host (its network namespace), as
   * `reuseport inspect` prints it: TCP listeners and UDP sockets grouped by
   * address, transport and uid, each with its state, queue and holders
   * (pid, command, fd), and the problems users hit named (a lone socket
   * without SO_REUSEPORT, a group of another user, a wildcard group beside
   * a specific one, a queue at its backlog). Read from /proc through libc,
   * joining no group. Sockets of processes whose fds cannot be read are
   * listed with their owners unresolved. Linux.
   *
   * @throws {RangeError} for a port outside 1–65535.
   */
  inspectPort(port: number): PortReport;
  /**
   * Sets how the SO_REUSEPORT group of the socket `fd` picks its member
   * for each new connection (TCP) or datagram (UDP): `"hash"`, the kernel's
   * own hash of addresses and ports (detaching any program); `"cpu"`, the
   * member whose index is the CPU that received the packet, modulo
   * `groupSize`; or `{ program }`, classic BPF instructions (see {@link cbpf})
   * returning the member's index — an index past the group's end falls back
   * to the hash. Attached to any member, a program serves the whole group,
   * and members joining later inherit it. The kernel numbers members in
   * listen(2) order for TCP and bind(2) order for UDP; when one closes, the
   * last moves into its index. Linux (SO_ATTACH_REUSEPORT_CBPF, 4.5+).
   *
   * @throws {CbpfProgramError} for a malformed program, naming the instruction, before any system call.
   * @throws {TypeError | RangeError} for a bad fd, policy or group size.
   * @throws {SocketError} when setsockopt fails (EBADF; EINVAL for a socket without SO_REUSEPORT).
   */
  steer(fd: number, policy: SteeringPolicy, groupSize?: number): void;
  /**
   * Pins every thread of this process to `cpus` with sched_setaffinity(2):
   * the runtime's own threads too (libuv's pool, the engine's helpers,
   * Deno's tokio threads), found in /proc/self/task, walked again until no
   * new one appears; threads started later inherit the mask. No privilege
   * is needed for one's own process. Linux.
   *
   * @throws {TypeError | RangeError} unless `cpus` is a non-empty array of
   *   distinct integers from 0 to 1023, before any system call.
   * @throws {SocketError} when the kernel refuses (EINVAL for a CPU that is
   *   offline, absent or outside the process's cpuset; the mask is left as it was).
   */
  setAffinity(cpus: readonly number[]): void;
  /** The CPUs the calling thread may run on, ascending (sched_getaffinity(2)): after {@link setAffinity}, every thread's. Linux. */
  getAffinity(): number[];
  /**
   * SO_INCOMING_CPU of a socket (Linux 3.19+): on an accepted connection,
   * the CPU that last handled its packets; on a listening socket, -1 until
   * {@link setIncomingCpu} sets it.
   *
   * @throws {RangeError} for an fd that is not a non-negative integer.
   * @throws {SocketError} when getsockopt fails (EBADF, ENOTSOCK).
   */
  getIncomingCpu(fd: number): number;
  /**
   * Sets SO_INCOMING_CPU on a socket (Linux 4.4+): in a SO_REUSEPORT
   * group, the member set to a CPU gets the connections that CPU receives,
   * the rest go by the hash (Linux 6.2+; from 4.6 to 6.1 the group's hash
   * decides alone). A lighter way than {@link steer}'s `"cpu"` to tie
   * sockets to CPUs, with workers pinned by {@link setAffinity}.
   *
   * @throws {RangeError} for an fd or cpu that is not a non-negative integer.
   * @throws {SocketError} when setsockopt fails (EBADF, ENOTSOCK).
   */
  setIncomingCpu(fd: number, cpu: number): void;
  /**
   * The sockets this process inherited through socket activation (systemd's
   * protocol, which `reuseport`'s supervisor speaks too): LISTEN_FDS fds
   * from 3, named by LISTEN_FDNAMES, taken only when LISTEN_PID is this
   * process's pid. Read once, on the first call that needs them (this one,
   * or one of openSocket/listen/listenDatagram with a port other than 0),
   * which also sets FD_CLOEXEC on them. Each is checked: a socket of its
   * named transport, bound to its named address, listening for TCP. Empty
   * without activation (and on Deno without env permission).
   *
   * @throws {InheritedSocketError} when an inherited fd fails the check: then
   *   none is adopted, and every call that would consult them throws it.
   */
  inheritedSockets(): InheritedSocket[];
  /**
   * Tells the service manager the process is ready: sends "READY=1" to the
   * Unix datagram socket NOTIFY_SOCKET names (sd_notify's protocol). Needed
   * only by programs that serve an inherited socket themselves (openSocket
   * and their own server); listen() and listenDatagram() send it by
   * themselves once every inherited socket is served.
   *
   * In a worker of `reuseport run` (REUSEPORT_SUPERVISOR_PID set) it also
   * asks Linux for SIGTERM when the supervisor dies (PR_SET_PDEATHSIG), so a
   * supervisor killed with SIGKILL leaves no worker serving on; SIGTERM
   * drains as a stop does. If the supervisor is already gone, SIGTERM comes
   * at once.
   *
   * @returns true when sent, false when NOTIFY_SOCKET is unset.
   * @throws {SocketError} when the message cannot be sent.
   */
  notifyReady(): boolean;
  /**
   * The libc binding itself, for experiments with raw system calls. Loaded
   * on first use. Methods return the C result or `-errno`.
   */
  sys(): Sys;
}

/** Builds the API around a lazy libc loader: nothing is loaded until a function needs it. */
export function createApi(load: () => Sys, adapter: RuntimeAdapter): Api {
  let loaded: Sys | undefined;
  const sys = (): Sys => {
    loaded ??= load();
    return loaded;
  };
  const activation = new Activation(sys, adapter.activation);
  return {
    openSocket: (options) => openSocketWith(sys(), options, activation),
    listen: (options) => listenWith(sys(), adapter, options, activation),
    listenDatagram: (options) => listenDatagramWith(sys(), adapter, options, activation),
    accept4: (fd, flags) => accept4With(sys(), fd, flags),
    watchReadable: (fd, onReadable) => {
      if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
      if (typeof onReadable !== "function") throw new TypeError("onReadable must be a function");
      return adapter.watchReadable(sys())(fd, onReadable);
    },
    socketStats: (fd) => socketStatsWith(sys(), fd),
    listenOverflows: () => listenOverflowsWith(sys()),
    inspectPort: (port) => inspectPortWith(sys(), port),
    steer: (fd, policy, groupSize) => steerWith(sys(), fd, policy, groupSize),
    setAffinity: (cpus) => setAffinityWith(sys(), cpus),
    getAffinity: () => getAffinityWith(sys()),
    getIncomingCpu: (fd) => getIncomingCpuWith(sys(), fd),
    setIncomingCpu: (fd, cpu) => setIncomingCpuWith(sys(), fd, cpu),
    inheritedSockets: () => activation.list(),
    notifyReady: () => activation.notifyReady(),
    sys,
  };
}
