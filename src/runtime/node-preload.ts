// The preload's hooks into node:net and node:process, which Node, Bun and
// Deno all provide: what makes an unchanged `server.listen(3000)` serve the
// supervisor's socket (src/preload/ decides; this file only touches the runtime).
import http from "node:http";
import { Server } from "node:net";
import process from "node:process";
import { awaitJoinTurn, joined } from "../activation/join-turn.ts";
import { sendNotify } from "../activation/notify.ts";
import type { Sys } from "../ffi/sys.ts";
import { parseListenArgs } from "../preload/listen-request.ts";
import { matchListen } from "../preload/match.ts";
import { selfBoundAddresses } from "../preload/self-bound.ts";
import { type DrainTarget, PreloadedWorker, type PreloadHost } from "../preload/worker.ts";
import { InheritedSocketError } from "../socket/errors.ts";
import type { InheritedSocket, RawSocket, SocketOptions } from "../types.ts";

/** How often keep-alive connections still idle are closed while a server drains. */
const IDLE_CLOSE_MS = 1000;

type Listen = (this: Server, ...args: unknown[]) => Server;

/**
 * net.Server's own close() stops accepting on this process's fd (the
 * supervisor's socket keeps listening, its queue intact) and calls back
 * once every connection has ended. http.Server's close() would also close
 * idle connections at once, among them one accepted a moment ago whose
 * request is still on its way (Node 19+): its client would see a reset. So
 * an HTTP server answers `Connection: close` from now on, and connections
 * still idle a second later (keep-alive clients between requests) are closed.
 */
function drainTarget(server: Server): DrainTarget {
  return {
    drain: (done) => {
      const idle = server as Server & { closeIdleConnections?: () => void };
      if (typeof idle.closeIdleConnections === "function") {
        server.prependListener("request", (_request: http.IncomingMessage, response: http.ServerResponse) => {
          if (!response.headersSent) response.setHeader("connection", "close");
        });
        const timer = setInterval(() => idle.closeIdleConnections?.(), IDLE_CLOSE_MS);
        timer.unref();
        Server.prototype.close.call(server, () => {
          clearInterval(timer);
          done();
        });
      } else {
        Server.prototype.close.call(server, () => done());
      }
    },
  };
}

function refuse(server: Server, error: Error): Server {
  // A failed listen is told the way node:net tells EADDRINUSE: an 'error' event a moment later.
  process.exitCode = 1;
  process.nextTick(() => server.emit("error", error));
  return server;
}

/**
 * Wraps `listen` so a listen on an inherited address serves the inherited
 * socket (`listen({ fd })`) instead. `serveFd` is false where the runtime's
 * node:net cannot serve an fd (Bun): such a listen is refused with an error
 * that says what to run instead.
 */
function wrapListen(original: Listen, worker: PreloadedWorker, serveFd: boolean): Listen {
  return function listen(this: Server, ...args: unknown[]): Server {
    const request = parseListenArgs(args);
    if (request.kind !== "port" || !worker.supervised) return original.apply(this, args);
    if (!serveFd) {
      const match = matchListen(request.port, request.host, worker.offered());
      if (match.kind === "elsewhere") return original.apply(this, args);
      const message =
        match.kind === "mismatch"
          ? match.message
          : `Bun's node:http and node:net cannot serve the supervisor's ${worker.describe()}: they ignore an inherited fd and reusePort alike; run this app with --runtime node, or serve it with Bun.serve`;
      worker.refused(message);
      return refuse(this, new InheritedSocketError(-1, "", "address-mismatch", message));
    }
    const match = worker.listen(request.port, request.host);
    if (match.kind === "elsewhere") return original.apply(this, args);
    if (match.kind === "mismatch")
      return refuse(this, new InheritedSocketError(-1, "", "address-mismatch", match.message));
    const fd = match.fd as number;
    this.once("listening", () => worker.serving(match.index, drainTarget(this)));
    return original.apply(this, request.callback === undefined ? [{ fd }] : [{ fd }, request.callback]);
  };
}

/** Hooks node:net (and, where it does not go through node:net, node:http) for `worker`. */
export function hookNetListen(worker: PreloadedWorker, serveFd: boolean): void {
  const net = Server.prototype as unknown as { listen: Listen };
  const original = net.listen;
  net.listen = wrapListen(original, worker, serveFd);
  // Bun's node:http has a listen of its own.
  const httpServer = http.Server.prototype as unknown as { listen: Listen };
  if (httpServer.listen !== net.listen && httpServer.listen !== original && !serveFd) {
    httpServer.listen = wrapListen(httpServer.listen, worker, serveFd);
  }
}

/** What the preload takes from the runtime's library entry. */
export interface PreloadLibrary {
  readonly inheritedSockets: () => readonly InheritedSocket[];
  readonly openSocket: (options: SocketOptions) => RawSocket;
  readonly notifyReady: () => boolean;
  readonly sys: () => Sys;
}

/** The supervisor's bound on a drain (REUSEPORT_DRAIN_MS, below its grace time); 10 s without one. */
function drainBoundMs(): number {
  const value = Number(process.env.REUSEPORT_DRAIN_MS);
  return Number.isInteger(value) && value >= 0 ? value : 10_000;
}

/** The preload's view of a process with Node's `process` (Node, Bun, and Deno's node:process). */
function processPreloadHost(library: PreloadLibrary): PreloadHost {
  return {
    inherited: () => {
      const inherited = library.inheritedSockets();
      if (inherited.length > 0) return inherited;
      return selfBoundAddresses(process.env.REUSEPORT_SELF_BIND, process.env.LISTEN_PID, process.pid);
    },
    // The inherited socket, or (with --self-bind, fd -1) a socket of our own in the group.
    claim: (socket) =>
      library
        .openSocket({ transport: "tcp", hostname: socket.localAddr.hostname, port: socket.localAddr.port })
        .release(),
    notifyReady: () => void library.notifyReady(),
    awaitTurn: (address) => {
      const path = process.env.NOTIFY_SOCKET;
      if (path !== undefined && path !== "") awaitJoinTurn(library.sys(), path, address, process.pid);
    },
    joined: (address, listening) => {
      const path = process.env.NOTIFY_SOCKET;
      if (path !== undefined && path !== "") joined(library.sys(), path, address, listening);
    },
    notify: (message) => {
      const path = process.env.NOTIFY_SOCKET;
      if (path === undefined || path === "") return;
      try {
        sendNotify(library.sys(), path, message);
      } catch {
        // The supervisor's log line is worth less than the worker going on.
      }
    },
    onTerminate: (handler) => {
      process.on("SIGTERM", handler);
      return {
        others: () => process.listeners("SIGTERM").some((l) => l !== handler),
        remove: () => void process.off("SIGTERM", handler),
      };
    },
    exit: (code) => process.exit(code),
    setExitCode: (code) => {
      process.exitCode = code;
    },
    after: (ms, run) => void setTimeout(run, ms).unref(),
    drainBoundMs: drainBoundMs(),
  };
}

/**
 * What a preload module runs: the worker's state, and node:net hooked.
 * `serveFd` is false on Bun, whose node:net cannot serve an fd.
 */
export function preloadNodeNet(library: PreloadLibrary, serveFd: boolean): PreloadedWorker {
  const worker = new PreloadedWorker(processPreloadHost(library));
  hookNetListen(worker, serveFd);
  return worker;
}
