// node:net as both Node and Deno provide it: the native acceptor on an fd
// and adoption of an accepted fd. Deno's entry reuses this file, the one
// place outside src/runtime/node.ts that touches node:net.
import { createServer, Socket } from "node:net";
import type { Conn, NetAddr } from "../types.ts";
import type { Acceptor, AcceptorSink } from "./_adapter.ts";
import { type ConnDriver, connFromDriver } from "./_conn.ts";

function address(hostname: string | undefined, port: number | undefined): NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

function handleFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

/** A net.Socket as a ConnDriver. */
export function netDriver(socket: Socket, fd: number | undefined = handleFd(socket)): ConnDriver {
  return {
    localAddr: address(socket.localAddress, socket.localPort),
    remoteAddr: address(socket.remoteAddress, socket.remotePort),
    fd,
    attach(events) {
      socket.on("data", events.data);
      socket.on("end", events.end);
      socket.on("drain", events.drain);
      socket.on("error", events.error);
      socket.on("close", events.close);
      // A 'data' listener switches the stream to flowing: the Conn pulls instead.
      socket.pause();
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    write: (chunk) => socket.write(chunk),
    end: () => socket.end(),
    destroy: () => socket.destroy(),
    setNoDelay: (noDelay) => socket.setNoDelay(noDelay),
    setKeepAlive: (keepAlive, delay) => socket.setKeepAlive(keepAlive, delay),
  };
}

/** net.Server on the listening fd. */
export function serveNetFd(fd: number, sink: AcceptorSink): Acceptor {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
    sink.conn(connFromDriver(netDriver(socket))),
  );
  server.on("error", sink.failed);
  server.listen({ fd });
  return {
    pause: () => {},
    resume: () => {},
    ref: () => server.ref(),
    unref: () => server.unref(),
    close: () => server.close(),
  };
}

/** new net.Socket({ fd }) on an accepted fd. */
export function adoptNetFd(fd: number): Conn {
  const socket = new Socket({ fd, allowHalfOpen: true, readable: true, writable: true });
  return connFromDriver(netDriver(socket, fd));
}
