import type { Sys } from "../ffi/sys.ts";
import type { NetAddr } from "../types.ts";
import { formatHostPort } from "./_ip.ts";

/**
 * Why a bind failed with EADDRINUSE, when the library can tell:
 * - "reuseport-disabled": this socket did not ask for SO_REUSEPORT and the port is taken.
 * - "other-user": the port is held by sockets of another effective user;
 *   the kernel admits only the group's own EUID.
 * - "not-reuseport": the port is held by a socket of this user that did not
 *   set SO_REUSEPORT (or bound it with another address or IPV6_V6ONLY setting).
 * - "unknown": the holder is not visible (another network namespace, or not Linux).
 */
export type AddressInUseReason = "reuseport-disabled" | "other-user" | "not-reuseport" | "unknown";

/** Details a SocketError may carry. */
export interface SocketErrorDetails {
  /** The IP address the call was made on, shown in the message. */
  readonly address?: string;
  /** The port the call was made on, shown after the address. */
  readonly port?: number;
  /** For EADDRINUSE from bind: the likely cause. */
  readonly reason?: AddressInUseReason;
  /** For "other-user": the uid that owns the port. */
  readonly ownerUid?: number;
  /** A sentence on what to do, appended to the message. */
  readonly hint?: string;
}

/**
 * A failed system call, shaped like Node's system errors: `code` is the
 * errno name ("EADDRINUSE"), `errno` the platform's positive errno number,
 * `syscall` the libc function, and `address`/`port` what it was called on.
 */
export class SocketError extends Error {
  /** Always "SocketError". */
  override readonly name: string = "SocketError";
  /** The errno name, such as "EADDRINUSE" ("E123" when the platform table has no name for it). */
  readonly code: string;
  /** The platform's positive errno number (98 for EADDRINUSE on Linux). */
  readonly errno: number;
  /** The libc function that failed, such as "bind" or "setsockopt". */
  readonly syscall: string;
  /** The IP address the call was made on, when there was one. */
  readonly address: string | undefined;
  /** The port the call was made on, when there was one. */
  readonly port: number | undefined;
  /** Set on EADDRINUSE from bind: the likely cause. */
  readonly reason: AddressInUseReason | undefined;
  /** For `reason: "other-user"`: the uid of the user whose sockets hold the port. */
  readonly ownerUid: number | undefined;

  /**
   * Builds the error and its message: the syscall, the errno name, the
   * endpoint when known, and the hint when there is one.
   */
  constructor(code: string, errno: number, syscall: string, details: SocketErrorDetails = {}) {
    const where = details.address === undefined ? "" : ` ${formatEndpoint(details.address, details.port)}`;
    super(`${syscall} ${code}${where}${details.hint ? `: ${details.hint}` : ""}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.address = details.address;
    this.port = details.port;
    this.reason = details.reason;
    this.ownerUid = details.ownerUid;
  }
}

function formatEndpoint(address: string, port: number | undefined): string {
  return port === undefined ? address : formatHostPort(address, port);
}

/** The errno name on this platform ("E123" when the table has none). */
export function errnoName(sys: Sys, errno: number): string {
  return sys.platform.errnoNames[errno] ?? `E${errno}`;
}

/** Builds the SocketError for a `-errno` result. */
export function socketError(sys: Sys, result: number, syscall: string, details?: SocketErrorDetails): SocketError {
  return new SocketError(errnoName(sys, -result), -result, syscall, details);
}

/**
 * The one check after every call: returns a non-negative result, throws a
 * SocketError for `-errno`.
 */
export function check(sys: Sys, result: number, syscall: string, details?: SocketErrorDetails): number {
  if (result >= 0) return result;
  throw socketError(sys, result, syscall, details);
}

function endpoint(addr: { hostname: string; port: number }): string {
  return formatHostPort(addr.hostname, addr.port);
}

/** Rejects receive() on a datagram socket that was closed (a `for await` loop simply ends instead). */
export class DatagramSocketClosedError extends Error {
  /** Always "DatagramSocketClosedError". */
  override readonly name: string = "DatagramSocketClosedError";
  /** Always "ERR_SOCKET_CLOSED". */
  readonly code: string = "ERR_SOCKET_CLOSED";

  /** The message names the closed socket's address (`addr`). */
  constructor(addr: { hostname: string; port: number }) {
    super(`the datagram socket on ${endpoint(addr)} is closed`);
  }
}

/**
 * A datagram longer than `maxDatagramSize` arrived: receive() rejects with
 * this error in the datagram's place instead of handing out cut bytes as if
 * they were whole. The socket keeps working; the next receive() gets the
 * next datagram.
 */
export class TruncatedDatagramError extends Error {
  /** Always "TruncatedDatagramError". */
  override readonly name: string = "TruncatedDatagramError";
  /** Always "EMSGSIZE", the errno name for a message too long. */
  readonly code: string = "EMSGSIZE";
  /** The first `maxDatagramSize` bytes. */
  readonly data: Uint8Array;
  /** The datagram's real length. */
  readonly size: number;
  /** The sender's address and port. */
  readonly remoteAddr: NetAddr;

  /** Holds the cut `data`, the real `size` and the sender; the message names `maxDatagramSize`. */
  constructor(data: Uint8Array, size: number, maxDatagramSize: number, remoteAddr: NetAddr) {
    super(
      `a ${size}-byte datagram from ${endpoint(remoteAddr)} exceeds maxDatagramSize (${maxDatagramSize}); raise the option to receive it whole`,
    );
    this.data = data;
    this.size = size;
    this.remoteAddr = remoteAddr;
  }
}

/** One datagram of a sendMany() call that the kernel refused. */
export interface SendFailure {
  /** Its position in the array given to sendMany(). */
  readonly index: number;
  /** Why (EACCES for a broadcast address without SO_BROADCAST, ENETUNREACH, …), with the destination. */
  readonly error: SocketError;
}

/**
 * sendMany() could not send every datagram. The others went out: one bad
 * destination does not hold back the replies to everyone else.
 */
export class SendManyError extends Error {
  /** "SendManyError". */
  override readonly name: string = "SendManyError";
  /** "ERR_SEND_MANY". */
  readonly code: string = "ERR_SEND_MANY";
  /** How many datagrams were sent. */
  readonly sent: number;
  /** The ones that were not, in order. */
  readonly failures: readonly SendFailure[];

  /** The message counts the failures and quotes the first; `sent` went out, `failures` did not. */
  constructor(sent: number, failures: readonly SendFailure[]) {
    super(
      `${failures.length} of ${sent + failures.length} datagrams were not sent; the first: ${failures[0]?.error.message}`,
    );
    this.sent = sent;
    this.failures = failures;
  }
}

/** Rejects accept() on a listener that was closed (a `for await` loop simply ends instead). */
export class ListenerClosedError extends Error {
  /** Always "ListenerClosedError". */
  override readonly name: string = "ListenerClosedError";
  /** Always "ERR_LISTENER_CLOSED". */
  readonly code: string = "ERR_LISTENER_CLOSED";

  /** The message names the closed listener's address (`addr`). */
  constructor(addr: { hostname: string; port: number }) {
    super(`the listener on ${endpoint(addr)} is closed`);
  }
}

/**
 * What was wrong with an inherited socket:
 * - "invalid-environment": `LISTEN_FDS` or `LISTEN_FDNAMES` cannot be read (`fd` is -1).
 * - "not-a-socket": the fd is not open, or not a socket (a pipe, a file).
 * - "wrong-type": a stream socket where its name says "udp", or a datagram socket named "tcp".
 * - "not-inet": not an IPv4 or IPv6 socket (a Unix-domain socket, say).
 * - "wrong-address": bound to another address or port than its name says, or not bound at all.
 * - "not-listening": a TCP socket that does not listen.
 * - "address-mismatch": the program asked for the transport and port of an
 *   inherited socket but another address, which would have made a second group.
 * - "already-adopted": the socket was taken over already by an earlier call.
 */
export type InheritedSocketReason =
  | "invalid-environment"
  | "not-a-socket"
  | "wrong-type"
  | "not-inet"
  | "wrong-address"
  | "not-listening"
  | "address-mismatch"
  | "already-adopted";

/**
 * An inherited fd (socket activation) that the library refuses to adopt,
 * or a call that conflicts with one. Never a silent fallback: the socket
 * the process was given is not replaced by one of its own.
 */
export class InheritedSocketError extends Error {
  /** Always "InheritedSocketError". */
  override readonly name: string = "InheritedSocketError";
  /** Always "ERR_INHERITED_SOCKET". */
  readonly code: string = "ERR_INHERITED_SOCKET";
  /** The inherited fd (from 3 up), or -1 when the error is about the environment variables. */
  readonly fd: number;
  /** The fd's `LISTEN_FDNAMES` entry ("unknown" when none was given; "" for the environment). */
  readonly fdName: string;
  /** What was wrong, as a keyword. */
  readonly reason: InheritedSocketReason;

  /** The message names the fd, its name and `detail`, the specific fault. */
  constructor(fd: number, fdName: string, reason: InheritedSocketReason, detail: string) {
    super(fd < 0 ? `socket activation: ${detail}` : `inherited fd ${fd} ("${fdName}"): ${detail}`);
    this.fd = fd;
    this.fdName = fdName;
    this.reason = reason;
  }
}
