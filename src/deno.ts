/**
 * reuseport for Deno: SO_REUSEPORT socket groups through libc.
 * @module
 */
import { type Api, createApi } from "./_api.ts";
import { superviseWith } from "./_supervise.ts";
import { loadSys } from "./ffi/deno.ts";
import type { FdWatch } from "./ffi/readiness.ts";
import type { Sys } from "./ffi/sys.ts";
import type { PortReport } from "./inspect/inspect.ts";
import { denoAdapter, hostPlatform } from "./runtime/deno.ts";
import type { SteeringPolicy } from "./steer/steer.ts";
import type { SuperviseOptions, Supervisor } from "./supervisor/types.ts";
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

export * from "./_exports.ts";

const api: Api = createApi(() => loadSys(hostPlatform()), denoAdapter);

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
export const openSocket: (options: SocketOptions) => RawSocket = api.openSocket;
/**
 * Listens on a TCP socket in the address's SO_REUSEPORT group and accepts
 * connections as {@link Conn}s with Web Streams, with accept4 and the
 * library's own reads and writes on an epoll set (`engine: "epoll"`, the
 * default on Linux: less CPU per request than `Deno.listen`), Deno's own
 * acceptor (`engine: "native"`, the default elsewhere), or accept4 through
 * FFI handing each fd to `node:net` (`engine: "accept4"`, which backs off
 * when the process runs out of fds). An inherited
 * socket on the same address is adopted instead (see
 * {@link inheritedSockets}); once every inherited socket is served so,
 * READY=1 goes to the manager, and SIGTERM drains them
 * ({@link Listener.drain}).
 *
 * @throws {TypeError | RangeError} for invalid options, before any system call.
 * @throws {SocketError} when a system call fails; no fd is left open.
 * @throws {InheritedSocketError} as for {@link openSocket}.
 */
export const listen: (options: ListenOptions) => Listener = api.listen;
/**
 * Binds a UDP socket in the address's SO_REUSEPORT group and receives
 * datagrams in batches (recvmmsg) as they arrive, watched by an off-thread
 * poll(2). An inherited socket on the same address is adopted instead, as
 * by {@link listen} (SIGTERM drains it: {@link DatagramSocket.drain}).
 *
 * @throws {TypeError | RangeError} for invalid options, before any system call.
 * @throws {SocketError} when a system call fails; no fd is left open.
 * @throws {InheritedSocketError} as for {@link openSocket}.
 */
export const listenDatagram: (options: DatagramOptions) => DatagramSocket = api.listenDatagram;
/**
 * accept4(2) on a listening fd: the next connection, or null when none is
 * waiting. `flags` default to SOCK_NONBLOCK | SOCK_CLOEXEC. The returned
 * fd is the caller's to adopt (or hand to a worker) and close.
 *
 * @throws {SocketError} for failures other than EAGAIN (EINTR and ECONNABORTED are retried).
 */
export const accept4: (fd: number, flags?: number) => AcceptedSocket | null = api.accept4;
/**
 * Calls `onReadable` on the JavaScript thread whenever `fd` is readable
 * (level-triggered), without blocking and without polling in a loop: the
 * readiness the accept4 engine and datagram sockets use (one off-thread
 * poll(2) per process). For programs that drive raw fds themselves, such
 * as `accept4` loops. Close the watch before closing the fd.
 *
 * @throws {RangeError} when `fd` is not a non-negative integer.
 * @throws {TypeError} when `onReadable` is not a function.
 */
export const watchReadable: (fd: number, onReadable: () => void) => FdWatch = api.watchReadable;
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
export const socketStats: (fd: number) => SocketStats | DatagramSocketStats = api.socketStats;
/**
 * Connections the kernel turned away at a full accept queue, for this
 * network namespace since boot, every socket together: TcpExt
 * ListenOverflows and ListenDrops from /proc/net/netstat (what
 * `netstat -s` prints). Read through libc. Linux.
 */
export const listenOverflows: () => { readonly overflows: number; readonly drops: number } = api.listenOverflows;
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
export const inspectPort: (port: number) => PortReport = api.inspectPort;
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
export const steer: (fd: number, policy: SteeringPolicy, groupSize?: number) => void = api.steer;
/**
 * Pins every thread of this process to `cpus` with sched_setaffinity(2):
 * Deno's own threads too (tokio's, V8's helpers), found in
 * /proc/self/task, walked again until no new one appears; threads started
 * later inherit the mask. No privilege is needed for one's own process.
 * Linux.
 *
 * @throws {TypeError | RangeError} unless `cpus` is a non-empty array of
 *   distinct integers from 0 to 1023, before any system call.
 * @throws {SocketError} when the kernel refuses (EINVAL for a CPU that is
 *   offline, absent or outside the process's cpuset; the mask is left as it was).
 */
export const setAffinity: (cpus: readonly number[]) => void = api.setAffinity;
/** The CPUs the calling thread may run on, ascending (sched_getaffinity(2)): after {@link setAffinity}, every thread's. Linux. */
export const getAffinity: () => number[] = api.getAffinity;
/**
 * SO_INCOMING_CPU of a socket (Linux 3.19+): on an accepted connection,
 * the CPU that last handled its packets; on a listening socket, -1 until
 * {@link setIncomingCpu} sets it.
 *
 * @throws {RangeError} for an fd that is not a non-negative integer.
 * @throws {SocketError} when getsockopt fails (EBADF, ENOTSOCK).
 */
export const getIncomingCpu: (fd: number) => number = api.getIncomingCpu;
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
export const setIncomingCpu: (fd: number, cpu: number) => void = api.setIncomingCpu;
/**
 * The sockets this process inherited through socket activation (systemd's
 * protocol, which `reuseport`'s supervisor speaks too): LISTEN_FDS fds
 * from 3, named by LISTEN_FDNAMES, taken only when LISTEN_PID is this
 * process's pid. Read once, on the first call that needs them (this one,
 * or one of openSocket/listen/listenDatagram with a port other than 0),
 * which also sets FD_CLOEXEC on them. Each is checked: a socket of its
 * named transport, bound to its named address, listening for TCP. Empty
 * without activation, and without env permission for the variables
 * (`--allow-env=LISTEN_PID,LISTEN_FDS,LISTEN_FDNAMES,NOTIFY_SOCKET`): a
 * variable not granted reads as unset, with no prompt.
 *
 * @throws {InheritedSocketError} when an inherited fd fails the check: then
 *   none is adopted, and every call that would consult them throws it.
 */
export const inheritedSockets: () => InheritedSocket[] = api.inheritedSockets;
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
 * @returns true when sent, false when NOTIFY_SOCKET is unset (or not readable without env permission).
 * @throws {SocketError} when the message cannot be sent.
 */
export const notifyReady: () => boolean = api.notifyReady;
/**
 * The libc binding itself, for experiments with raw system calls. Loaded
 * on first use. Methods return the C result or `-errno`.
 */
export const sys: () => Sys = api.sys;
/**
 * Starts a supervisor that owns the group's sockets for its whole life:
 * one SO_REUSEPORT socket per worker slot per address, each handed to its
 * slot's worker at fd 3 onward (systemd's LISTEN_FDS protocol), so that
 * restarts, crashes, reloads and scaling never reset a queued connection.
 * Workers run `options.app` on Node, Bun or Deno; in them, listen(),
 * listenDatagram() and openSocket() adopt the inherited sockets.
 *
 * @throws {TypeError | RangeError} for invalid options, before anything starts.
 * @throws {SocketError} when a group socket cannot be opened; none is left open.
 */
export const supervise: (options: SuperviseOptions) => Supervisor = superviseWith(api, denoAdapter, "deno");
