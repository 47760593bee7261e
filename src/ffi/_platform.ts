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
  /** `struct epoll_event`: packed (12 bytes) on x86_64, 16 bytes elsewhere. Linux only. */
  readonly epollEvent?: { readonly size: number; readonly events: Field; readonly data: Field };
}

/** The numeric constants the library passes to libc. */
export interface Constants {
  readonly AF_INET: number;
  readonly AF_INET6: number;
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  /** 0 where `socket()` has no such flag (macOS): fcntl sets it instead. */
  readonly SOCK_NONBLOCK: number;
  /** 0 where `socket()` has no such flag (macOS): fcntl sets it instead. */
  readonly SOCK_CLOEXEC: number;
  readonly SOL_SOCKET: number;
  readonly SO_REUSEADDR: number;
  readonly SO_REUSEPORT: number;
  /** FreeBSD's balancing variant of SO_REUSEPORT; 0 where it does not exist. */
  readonly SO_REUSEPORT_LB: number;
  readonly SO_TYPE: number;
  readonly SO_ERROR: number;
  readonly SO_ACCEPTCONN: number;
  readonly SO_RCVBUF: number;
  readonly SO_SNDBUF: number;
  readonly IPPROTO_TCP: number;
  readonly IPPROTO_UDP: number;
  readonly IPPROTO_IPV6: number;
  readonly IPV6_V6ONLY: number;
  readonly TCP_NODELAY: number;
  readonly O_RDONLY: number;
  readonly O_NONBLOCK: number;
  readonly O_CLOEXEC: number;
  readonly F_GETFD: number;
  readonly F_SETFD: number;
  readonly F_GETFL: number;
  readonly F_SETFL: number;
  readonly FD_CLOEXEC: number;
  readonly POLLIN: number;
  readonly POLLOUT: number;
  readonly POLLERR: number;
  readonly POLLHUP: number;
  readonly POLLNVAL: number;
  readonly RLIMIT_NOFILE: number;
  readonly SHUT_RD: number;
  readonly SHUT_WR: number;
  readonly SHUT_RDWR: number;
  /** eventfd flags (Linux); 0 elsewhere. */
  readonly EFD_NONBLOCK: number;
  readonly EFD_CLOEXEC: number;
  readonly MSG_DONTWAIT: number;
  /** In msg_flags: the datagram was longer than the buffer. */
  readonly MSG_TRUNC: number;
}

/** Everything the library knows about one OS on one CPU architecture. */
export interface PlatformTable {
  readonly os: OsName;
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
  readonly constants: Constants;
  readonly layouts: Layouts;
  /** errno number → symbolic name ("EADDRINUSE"). */
  readonly errnoNames: Readonly<Record<number, string>>;
}
