import type { Sys } from "../ffi/sys.ts";
import { encodeUnixSockaddr } from "../socket/_sockaddr.ts";
import { check, errnoName } from "../socket/errors.ts";
import { setTimeoutOption } from "../socket/sockopt.ts";
import { sendNotify } from "./notify.ts";

/** How long a worker waits for its turn before joining anyway (the supervisor then says it lost count). */
const TURN_TIMEOUT_MS = 10_000;
/** One wait for the answer; the loop stops at the timeout. */
const WAIT_SLICE_MS = 100;

/**
 * A self-bound worker's turn to join its supervisor's group. The kernel
 * numbers a TCP group's members in listen() order, and the supervisor
 * steers by those numbers, so it lets one worker listen at a time: the
 * worker asks (X_REUSEPORT_JOIN=<address> on NOTIFY_SOCKET, with the
 * abstract Unix socket its answer goes to), waits for "GO", listens, and
 * says X_REUSEPORT_JOINED=<address> (see {@link joined}). Synchronous, as
 * the servers it serves (Bun.serve, Deno.serve) listen before they return;
 * false when no answer came in time (the worker joins anyway).
 *
 * @throws {SocketError} when the answer socket cannot be made.
 */
export function awaitJoinTurn(sys: Sys, notifyPath: string, address: string, pid: number): boolean {
  const c = sys.platform.constants;
  const fd = check(sys, sys.socket(c.AF_UNIX, c.SOCK_DGRAM | c.SOCK_CLOEXEC, 0), "socket");
  try {
    // An abstract name leaves no file behind in the supervisor's directory.
    const reply = `@reuseport-turn-${pid}-${Date.now().toString(36)}`;
    const own = encodeUnixSockaddr(sys.platform, reply);
    check(sys, sys.bind(fd, own, own.length), "bind", { address: reply });
    setTimeoutOption(sys, fd, c.SOL_SOCKET, c.SO_RCVTIMEO, WAIT_SLICE_MS);
    sendNotify(sys, notifyPath, `X_REUSEPORT_JOIN=${address}\nX_REUSEPORT_REPLY=${reply}`);
    const buffer = new Uint8Array(16);
    const deadline = Date.now() + TURN_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const n = sys.recvfrom(fd, buffer, buffer.length, 0, null, null);
      if (n >= 2 && buffer[0] === 0x47 && buffer[1] === 0x4f) return true; // "GO"
      if (n < 0 && !["EAGAIN", "EWOULDBLOCK", "EINTR"].includes(errnoName(sys, -n))) return false;
    }
    return false;
  } finally {
    sys.close(fd);
  }
}

/** Tells the supervisor the worker's socket for `address` listens now (or, `listening` false, never will): its turn is over. */
export function joined(sys: Sys, notifyPath: string, address: string, listening = true): void {
  sendNotify(sys, notifyPath, `${listening ? "X_REUSEPORT_JOINED" : "X_REUSEPORT_UNJOINED"}=${address}`);
}
