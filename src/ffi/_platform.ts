/**
 * The shape of a per-platform table: every constant, struct layout and errno
 * name the library uses lives in one such table, so no other file needs a
 * magic number. Tables are data only; `platformTable()` in `platforms.ts`
 * picks one for the host.
 */

/** Operating systems with a table. Only Linux is tested end to end. */
export type OsName = "linux" | "darwin" | "freebsd";
/** CPU architectures with a table. */
export type ArchName = "x64" | "arm64";

/** Where a field sits in a struct: byte offset and size. */
export interface Field {
  /** Bytes from the start of the struct. */
  readonly offset: number;
  /** Width in bytes (1, 2, 4, 8 or 16). */
  readonly size: number;
}

/** Layout of `struct sockaddr_in` / `struct sockaddr_in6`. */
export interface SockaddrLayout {
  /** `sizeof` the struct in bytes: the address length passed to bind. */
  readonly size: number;
  /** BSD `sin_len`/`sin6_len` byte; absent on Linux. */
  readonly len?: Field;
  /** Address family: a host-order u16 on Linux, a u8 after `sin_len` on BSD. */
  readonly family: Field;
  /** Port, always big-endian (network order). */
  readonly port: Field;
  /** The IP address bytes, in network order (4 for IPv4, 16 for IPv6). */
  readonly addr: Field;
  /** IPv6 only: `sin6_flowinfo`; the library leaves it zero. */
  readonly flowinfo?: Field;
  /** IPv6 only: `sin6_scope_id`, the interface index of a zoned address ("fe80::1%2"). */
  readonly scopeId?: Field;
}

/** Struct layouts, in bytes. */
export interface Layouts {
  /** `struct sockaddr_in`: an IPv4 address and port. */
  readonly sockaddrIn: SockaddrLayout;
  /** `struct sockaddr_in6`: an IPv6 address, port, flow info and scope. */
  readonly sockaddrIn6: SockaddrLayout;
  /**
   * `struct sockaddr_un`: a Unix-domain path (the systemd notify socket).
   * `size` is the whole struct; `path` the room for the path and its NUL.
   */
  readonly sockaddrUn: { readonly size: number; readonly len?: Field; readonly family: Field; readonly path: Field };
  /**
   * `struct tcp_info` (Linux), the fields read on a listening socket: there
   * `tcpi_unacked` is the accept queue's length and `tcpi_sacked` its limit
   * (what `ss -lt` shows as Recv-Q and Send-Q). Undefined where TCP_INFO
   * has another shape.
   */
  readonly tcpInfo?: { readonly size: number; readonly unacked: Field; readonly sacked: Field };
  /** `struct timeval`: seconds, then microseconds (a narrower tv_usec is followed by padding). */
  readonly timeval: { readonly size: number; readonly sec: Field; readonly usec: Field };
  /** Size of `struct sockaddr_storage`: room for any address a call may return. */
  readonly sockaddrStorage: number;
  /** Size of `socklen_t`, the length argument of bind, accept4 and getsockopt. */
  readonly socklen: number;
  /** `struct rlimit`: two rlim_t (64-bit on every supported target). */
  readonly rlimit: { readonly size: number; readonly cur: Field; readonly max: Field };
  /** `struct pollfd`: an int fd and the short `events` asked for and `revents` reported. */
  readonly pollfd: { readonly size: number; readonly fd: Field; readonly events: Field; readonly revents: Field };
  /** `struct iovec`: a pointer and a size_t. */
  readonly iovec: { readonly size: number; readonly base: Field; readonly len: Field };
  /** `struct msghdr`; fields narrower than their slot (BSD socklen_t, musl's int + padding) are zero-padded. */
  readonly msghdr: {
    readonly size: number;
    readonly name: Field;
    readonly namelen: Field;
    readonly iov: Field;
    readonly iovlen: Field;
    readonly control: Field;
    readonly controllen: Field;
    readonly flags: Field;
  };
  /** `struct mmsghdr` (recvmmsg/sendmmsg): a msghdr and the byte count; absent where libc has no recvmmsg. */
  readonly mmsghdr?: { readonly size: number; readonly len: Field };
  /**
   * `cpu_set_t` (sched_setaffinity): a bit per CPU in `word`-byte unsigned
   * longs, CPU n at bit n % (8 × word) of word n / (8 × word), each word in
   * the platform's byte order; `size` bytes in all. Linux only here.
   */
  readonly cpuSet?: { readonly size: number; readonly word: number };
  /** `struct epoll_event`: packed (12 bytes) on x86_64, 16 bytes elsewhere. Linux only. */
  readonly epollEvent?: { readonly size: number; readonly events: Field; readonly data: Field };
}

/** The numeric constants the library passes to libc. */
export interface Constants {
  /** `AF_INET`: the IPv4 address family (socket(2), sockaddr_in). */
  readonly AF_INET: number;
  /** `AF_UNIX`: Unix-domain sockets (sockaddr_un), 1 everywhere. */
  readonly AF_UNIX: number;
  /** `AF_INET6`: the IPv6 address family (socket(2), sockaddr_in6); 10 on Linux, 28 on FreeBSD, 30 on macOS. */
  readonly AF_INET6: number;
  /** `SOCK_STREAM`: socket type for TCP. */
  readonly SOCK_STREAM: number;
  /** `SOCK_DGRAM`: socket type for UDP. */
  readonly SOCK_DGRAM: number;
  /** `SOCK_NONBLOCK`: make the new fd non-blocking; 0 where `socket()` has no such flag (macOS): fcntl sets it instead. */
  readonly SOCK_NONBLOCK: number;
  /** `SOCK_CLOEXEC`: make the new fd close-on-exec; 0 where `socket()` has no such flag (macOS): fcntl sets it instead. */
  readonly SOCK_CLOEXEC: number;
  /** `SOL_SOCKET`: the setsockopt level of the socket-wide options (SO_*). */
  readonly SOL_SOCKET: number;
  /** `SO_REUSEADDR`: bind past connections lingering in TIME_WAIT (socket(7)). */
  readonly SO_REUSEADDR: number;
  /** `SO_REUSEPORT`: join the address's group of sockets (socket(7)); the kernel balances the group on Linux. */
  readonly SO_REUSEPORT: number;
  /** `SO_REUSEPORT_LB`: FreeBSD's balancing variant of SO_REUSEPORT; 0 where it does not exist. */
  readonly SO_REUSEPORT_LB: number;
  /** `SO_TYPE`: getsockopt only, the socket's type (SOCK_STREAM or SOCK_DGRAM). */
  readonly SO_TYPE: number;
  /** `SO_ERROR`: getsockopt only, reads and clears the socket's pending error. */
  readonly SO_ERROR: number;
  /** `SO_ACCEPTCONN`: getsockopt only, 1 when the socket is listening. */
  readonly SO_ACCEPTCONN: number;
  /**
   * `SO_RCVTIMEO`: a struct timeval (layouts.timeval) bounding blocking
   * receives, and accept(2) on a listening socket whose fd is blocking.
   */
  readonly SO_RCVTIMEO: number;
  /** `SO_RCVBUF`: the kernel's receive buffer size in bytes. */
  readonly SO_RCVBUF: number;
  /** `SO_SNDBUF`: the kernel's send buffer size in bytes. */
  readonly SO_SNDBUF: number;
  /** `IPPROTO_TCP`: the TCP protocol number, also the setsockopt level of TCP_* options. */
  readonly IPPROTO_TCP: number;
  /** `IPPROTO_UDP`: the UDP protocol number. */
  readonly IPPROTO_UDP: number;
  /** `IPPROTO_IPV6`: the setsockopt level of IPV6_* options. */
  readonly IPPROTO_IPV6: number;
  /** `IPV6_V6ONLY`: an IPv6 socket refuses IPv4-mapped traffic (ipv6(7)). */
  readonly IPV6_V6ONLY: number;
  /** `TCP_NODELAY`: send small segments at once instead of coalescing them (Nagle off). */
  readonly TCP_NODELAY: number;
  /** `TCP_INFO`: getsockopt at IPPROTO_TCP, a struct tcp_info (layouts.tcpInfo); Linux only here. */
  readonly TCP_INFO?: number;
  /**
   * `SO_INCOMING_CPU`: SOL_SOCKET int option, the CPU that last handled a
   * socket's packets (getsockopt, Linux 3.19+); set on a listening socket
   * (Linux 4.4+) it is the CPU the socket prefers in its reuseport group.
   * Linux only here.
   */
  readonly SO_INCOMING_CPU?: number;
  /** `O_RDONLY`: open(2) for reading. */
  readonly O_RDONLY: number;
  /** `O_NONBLOCK`: the non-blocking file status flag (open(2), fcntl F_SETFL). */
  readonly O_NONBLOCK: number;
  /** `O_CLOEXEC`: open(2) the fd close-on-exec. */
  readonly O_CLOEXEC: number;
  /** `F_GETFD`: fcntl command that reads the fd flags (FD_CLOEXEC). */
  readonly F_GETFD: number;
  /** `F_SETFD`: fcntl command that sets the fd flags (FD_CLOEXEC). */
  readonly F_SETFD: number;
  /** `F_GETFL`: fcntl command that reads the file status flags (O_NONBLOCK). */
  readonly F_GETFL: number;
  /** `F_SETFL`: fcntl command that sets the file status flags (O_NONBLOCK). */
  readonly F_SETFL: number;
  /** `FD_CLOEXEC`: the close-on-exec fd flag (F_GETFD, F_SETFD). */
  readonly FD_CLOEXEC: number;
  /** `POLLIN`: poll(2) event, data to read (or a connection to accept). */
  readonly POLLIN: number;
  /** `POLLOUT`: poll(2) event, writing will not block. */
  readonly POLLOUT: number;
  /** `POLLERR`: poll(2) result, an error is pending on the fd. */
  readonly POLLERR: number;
  /** `POLLHUP`: poll(2) result, the peer hung up. */
  readonly POLLHUP: number;
  /** `POLLNVAL`: poll(2) result, the fd is not open. */
  readonly POLLNVAL: number;
  /** `RLIMIT_NOFILE`: getrlimit resource, the most fds the process may hold. */
  readonly RLIMIT_NOFILE: number;
  /** `SHUT_RD`: shutdown(2) the receiving side. */
  readonly SHUT_RD: number;
  /** `SHUT_WR`: shutdown(2) the sending side (sends FIN). */
  readonly SHUT_WR: number;
  /** `SHUT_RDWR`: shutdown(2) both sides. */
  readonly SHUT_RDWR: number;
  /** `EFD_NONBLOCK`: eventfd flag (Linux) for a non-blocking fd; 0 elsewhere. */
  readonly EFD_NONBLOCK: number;
  /** `EFD_CLOEXEC`: eventfd flag (Linux) for a close-on-exec fd; 0 elsewhere. */
  readonly EFD_CLOEXEC: number;
  /** `MSG_DONTWAIT`: send/receive flag, fail with EAGAIN instead of blocking for this one call. */
  readonly MSG_DONTWAIT: number;
  /**
   * `MSG_TRUNC`: as a receive flag, makes Linux return a datagram's real
   * length; in msg_flags, the datagram was longer than the buffer.
   */
  readonly MSG_TRUNC: number;
  /** `SIGTERM`: the signal a supervised worker asks for when its supervisor dies (15 everywhere). */
  readonly SIGTERM: number;
  /** `PR_SET_PDEATHSIG`: prctl(2) option, a signal for when the parent dies; Linux only. */
  readonly PR_SET_PDEATHSIG?: number;
  /** What the epoll engine passes to libc; Linux only. */
  readonly epoll?: EpollConstants;
}

/** epoll(7) and the stream options the epoll engine sets itself (Linux). */
export interface EpollConstants {
  /** `EPOLL_CLOEXEC`: epoll_create1 flag, the epoll fd is close-on-exec. */
  readonly EPOLL_CLOEXEC: number;
  /** `EPOLL_CTL_ADD`: epoll_ctl op, add an fd to the set. */
  readonly EPOLL_CTL_ADD: number;
  /** `EPOLL_CTL_DEL`: epoll_ctl op, remove an fd from the set. */
  readonly EPOLL_CTL_DEL: number;
  /** `EPOLLIN`: data to read. */
  readonly EPOLLIN: number;
  /** `EPOLLOUT`: writing will not block. */
  readonly EPOLLOUT: number;
  /** `EPOLLERR`: an error is pending (always reported). */
  readonly EPOLLERR: number;
  /** `EPOLLHUP`: both directions are shut (always reported). */
  readonly EPOLLHUP: number;
  /** `EPOLLRDHUP`: the peer half-closed (sent FIN). */
  readonly EPOLLRDHUP: number;
  /** `EPOLLET`: edge-triggered, an event per change rather than per wait. */
  readonly EPOLLET: number;
  /** `MSG_NOSIGNAL`: send flag, EPIPE instead of SIGPIPE when the peer is gone. */
  readonly MSG_NOSIGNAL: number;
  /** `SO_KEEPALIVE`: SOL_SOCKET option, send TCP keep-alive probes. */
  readonly SO_KEEPALIVE: number;
  /** `TCP_KEEPIDLE`: IPPROTO_TCP option, seconds idle before the first probe. */
  readonly TCP_KEEPIDLE: number;
}

/** Everything the library knows about one OS on one CPU architecture. */
export interface PlatformTable {
  /** The operating system, as Node names it (`process.platform`). */
  readonly os: OsName;
  /** The CPU architecture, as Node names it (`process.arch`). */
  readonly arch: ArchName;
  /** Names to try with dlopen, in order (glibc first, then musl's loader-provided libc). */
  readonly libc: readonly string[];
  /** The libc function that returns a pointer to this thread's errno. */
  readonly errnoSymbol: "__errno_location" | "__error";
  /** Whether libc has accept4 (macOS does not). */
  readonly hasAccept4: boolean;
  /** The socket option that makes a balancing group (SO_REUSEPORT, or SO_REUSEPORT_LB on FreeBSD). */
  readonly reusePortOption: number;
  /** Whether the kernel spreads connections across a group; false on macOS. */
  readonly balancesGroup: boolean;
  /** Whether integers in structs are little-endian (all supported targets are). */
  readonly littleEndian: boolean;
  /** The numeric constants passed to libc on this platform. */
  readonly constants: Constants;
  /** Byte offsets and sizes of the C structs the library fills and reads. */
  readonly layouts: Layouts;
  /** errno number → symbolic name ("EADDRINUSE"). */
  readonly errnoNames: Readonly<Record<number, string>>;
}
