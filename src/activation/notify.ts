import type { Sys } from "../ffi/sys.ts";
import { encodeUnixSockaddr } from "../socket/_sockaddr.ts";
import { check } from "../socket/errors.ts";

/**
 * sd_notify(3): one datagram with `message` ("READY=1") to the Unix socket
 * at `path` (NOTIFY_SOCKET; "@name" is Linux's abstract namespace), from a
 * socket made for it and closed at once. Non-blocking, so a manager that
 * does not read cannot stall the caller: a full queue is EAGAIN.
 *
 * @throws {TypeError} when `path` is not a Unix socket path.
 * @throws {SocketError} when socket or sendto fails.
 */
export function sendNotify(sys: Sys, path: string, message: string): void {
  if (!path.startsWith("/") && !path.startsWith("@")) {
    throw new TypeError(`NOTIFY_SOCKET must be a Unix socket path ("/…" or "@…"), got ${JSON.stringify(path)}`);
  }
  const c = sys.platform.constants;
  const address = encodeUnixSockaddr(sys.platform, path);
  const where = { address: path };
  const fd = check(sys, sys.socket(c.AF_UNIX, c.SOCK_DGRAM | c.SOCK_CLOEXEC | c.SOCK_NONBLOCK, 0), "socket", where);
  try {
    const data = new TextEncoder().encode(message);
    check(sys, sys.sendto(fd, data, data.length, 0, address, address.length), "sendto", where);
  } finally {
    sys.close(fd);
  }
}
