import type { ClaimedSocket, Inheritance } from "../activation/inherited.ts";
import type { Sys } from "../ffi/sys.ts";
import type { Family, NetAddr, RawSocket, SocketOptions, Transport } from "../types.ts";
import { explainAddressInUse } from "./_diagnose.ts";
import { formatIp } from "./_ip.ts";
import { type ResolvedSocketOptions, resolveSocketOptions } from "./_options.ts";
import { scratch } from "./_scratch.ts";
import { decodeSockaddr, encodeSockaddr } from "./_sockaddr.ts";
import { check, errnoName, type SocketErrorDetails, socketError } from "./errors.ts";
import { setIntOption, socklen } from "./sockopt.ts";

/** RawSockets made from inherited fds: closing them must never shut the shared socket down. */
const inherited = new WeakSet<RawSocket>();

/** Whether `raw` wraps a socket this process inherited (socket activation). */
export function isInherited(raw: RawSocket): boolean {
  return inherited.has(raw);
}

class OwnedSocket implements RawSocket {
  #fd: number;
  readonly #sys: Sys;
  readonly transport: RawSocket["transport"];
  readonly family: RawSocket["family"];
  readonly localAddr: NetAddr;

  constructor(sys: Sys, fd: number, transport: Transport, family: Family, localAddr: NetAddr) {
    this.#sys = sys;
    this.#fd = fd;
    this.transport = transport;
    this.family = family;
    this.localAddr = localAddr;
  }

  get fd(): number {
    return this.#fd;
  }

  close(): void {
    const fd = this.release();
    // Linux releases the fd even when close reports EINTR; only EBADF (a
    // double close elsewhere) is worth telling the caller about.
    if (fd >= 0) check(this.#sys, this.#sys.close(fd), "close");
  }

  release(): number {
    const fd = this.#fd;
    this.#fd = -1;
    return fd;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** getsockname(2) as a NetAddr: a socket's own address and port. */
export function localAddress(
  sys: Sys,
  fd: number,
  transport: NetAddr["transport"],
  details?: SocketErrorDetails,
): NetAddr {
  const { bytes } = scratch(sys).sockaddr;
  check(sys, sys.getsockname(fd, bytes, socklen(sys, bytes.length)), "getsockname", details);
  const decoded = decodeSockaddr(sys.platform, bytes);
  if (decoded === undefined) throw new Error(`getsockname returned an unexpected address family on fd ${fd}`);
  return { transport, hostname: formatIp(decoded), port: decoded.port };
}

/** Reads the bound address back (the kernel's port when 0 was asked for). */
function boundAddress(sys: Sys, fd: number, options: ResolvedSocketOptions): NetAddr {
  return localAddress(sys, fd, options.transport, { address: options.hostname, port: options.port });
}

function configureAndBind(sys: Sys, fd: number, options: ResolvedSocketOptions): void {
  const c = sys.platform.constants;
  const where: SocketErrorDetails = { address: options.hostname, port: options.port };
  if (c.SOCK_NONBLOCK === 0) {
    const flags = check(sys, sys.fcntl(fd, c.F_GETFL, 0), "fcntl", where);
    check(sys, sys.fcntl(fd, c.F_SETFL, flags | c.O_NONBLOCK), "fcntl", where);
    check(sys, sys.fcntl(fd, c.F_SETFD, c.FD_CLOEXEC), "fcntl", where);
  }
  if (options.reuseAddr) setIntOption(sys, fd, c.SOL_SOCKET, c.SO_REUSEADDR, 1, where);
  if (options.reusePort) setIntOption(sys, fd, c.SOL_SOCKET, sys.platform.reusePortOption, 1, where);
  // Set explicitly either way, so the net.ipv6.bindv6only sysctl cannot
  // silently change which group "::" joins.
  if (options.ip.family === 6) setIntOption(sys, fd, c.IPPROTO_IPV6, c.IPV6_V6ONLY, options.ipv6Only ? 1 : 0, where);
  const address = encodeSockaddr(sys.platform, { ...options.ip, port: options.port }, scratch(sys).sockaddr.bytes);
  const bound = sys.bind(fd, address, address.length);
  if (bound < 0) throw socketError(sys, bound, "bind", explainBindError(sys, -bound, options));
  if (options.transport === "tcp") check(sys, sys.listen(fd, options.backlog), "listen", where);
}

function explainBindError(sys: Sys, errno: number, options: ResolvedSocketOptions): SocketErrorDetails {
  const name = errnoName(sys, errno);
  if (name === "EADDRINUSE") return explainAddressInUse(sys, options);
  const where = { address: options.hostname, port: options.port };
  if (name === "EACCES" && options.port < 1024) {
    return {
      ...where,
      hint: "ports below 1024 need root or CAP_NET_BIND_SERVICE (or a lower net.ipv4.ip_unprivileged_port_start)",
    };
  }
  if (name === "EADDRNOTAVAIL") {
    return { ...where, hint: "the address is not assigned to any interface of this host" };
  }
  return where;
}

/** Wraps an inherited socket: made non-blocking (systemd's may not be), otherwise left as its owner set it up. */
function adoptInherited(sys: Sys, claimed: ClaimedSocket): RawSocket {
  const c = sys.platform.constants;
  const where: SocketErrorDetails = { address: claimed.localAddr.hostname, port: claimed.localAddr.port };
  const flags = check(sys, sys.fcntl(claimed.fd, c.F_GETFL, 0), "fcntl", where);
  if ((flags & c.O_NONBLOCK) === 0) check(sys, sys.fcntl(claimed.fd, c.F_SETFL, flags | c.O_NONBLOCK), "fcntl", where);
  const raw = new OwnedSocket(sys, claimed.fd, claimed.transport, claimed.family, claimed.localAddr);
  inherited.add(raw);
  return raw;
}

/**
 * Opens a socket, joins its SO_REUSEPORT group and binds it; TCP sockets
 * also listen. The fd is non-blocking and close-on-exec. Options are
 * checked before any system call, and every failure after the socket
 * exists closes it before throwing. With `inheritance`, an inherited
 * socket on the same address is adopted instead (the other options are
 * its owner's), and a conflicting one throws an InheritedSocketError.
 */
export function openSocket(sys: Sys, options: SocketOptions, inheritance?: Inheritance): RawSocket {
  const resolved = resolveSocketOptions(options);
  const claimed = inheritance?.claim(resolved);
  if (claimed !== undefined) return adoptInherited(sys, claimed);
  const c = sys.platform.constants;
  const domain = resolved.ip.family === 4 ? c.AF_INET : c.AF_INET6;
  const type = (resolved.transport === "tcp" ? c.SOCK_STREAM : c.SOCK_DGRAM) | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC;
  const fd = check(sys, sys.socket(domain, type, 0), "socket", { address: resolved.hostname, port: resolved.port });
  try {
    configureAndBind(sys, fd, resolved);
    inheritance?.bound?.(resolved, true);
    const family = resolved.ip.family === 4 ? "IPv4" : "IPv6";
    return new OwnedSocket(sys, fd, resolved.transport, family, boundAddress(sys, fd, resolved));
  } catch (error) {
    inheritance?.bound?.(resolved, false);
    sys.close(fd);
    throw error;
  }
}
