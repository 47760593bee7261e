import type { WatchReadable } from "../ffi/readiness.ts";
import type { Sys } from "../ffi/sys.ts";
import { encodeUnixSockaddr } from "../socket/_sockaddr.ts";
import { check, errnoName } from "../socket/errors.ts";

/** The receiving end of systemd's notify protocol for one worker. */
export interface NotifyReceiver {
  /** The path to give the worker as NOTIFY_SOCKET. */
  readonly path: string;
  close(): void;
}

/**
 * Binds a Unix datagram socket at `path` and calls `onMessage` with each
 * "KEY=VALUE" line a worker sends (READY=1, STOPPING=1, STATUS=…). One
 * socket per worker: what arrives on it can only be that worker's (or a
 * process it started, which the protocol allows), and the directory it
 * lives in is the supervisor user's alone.
 */
export function receiveNotifications(
  sys: Sys,
  watchReadable: WatchReadable,
  path: string,
  onMessage: (key: string, value: string) => void,
  removeFile: (path: string) => void,
): NotifyReceiver {
  const c = sys.platform.constants;
  const fd = check(sys, sys.socket(c.AF_UNIX, c.SOCK_DGRAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0), "socket");
  try {
    removeFile(path);
    const address = encodeUnixSockaddr(sys.platform, path);
    check(sys, sys.bind(fd, address, address.length), "bind", { address: path });
  } catch (error) {
    sys.close(fd);
    throw error;
  }
  const buffer = new Uint8Array(4096);
  const decoder = new TextDecoder();
  const watch = watchReadable(fd, () => {
    for (;;) {
      const n = sys.recvfrom(fd, buffer, buffer.length, 0, null, null);
      if (n < 0) {
        if (errnoName(sys, -n) === "EINTR") continue;
        return;
      }
      for (const line of decoder.decode(buffer.subarray(0, n)).split("\n")) {
        const at = line.indexOf("=");
        if (at > 0) onMessage(line.slice(0, at), line.slice(at + 1));
      }
    }
  });
  // The worker's own exit is what holds the supervisor; its notify socket need not.
  watch.unref();
  let closed = false;
  return {
    path,
    close: () => {
      if (closed) return;
      closed = true;
      watch.close();
      sys.close(fd);
      removeFile(path);
    },
  };
}
