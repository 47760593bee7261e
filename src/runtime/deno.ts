import type { ActivationHost } from "../activation/inherited.ts";
import type { PlatformTable } from "../ffi/_platform.ts";
import { platformTable } from "../ffi/platforms.ts";
import type { PreloadedWorker } from "../preload/worker.ts";
import { threadPoller } from "../socket/_poller.ts";
import type { RuntimeAdapter } from "./_adapter.ts";
import { adoptNetFd, serveNetFd } from "./node-net.ts";

const arches: Record<string, string> = { x86_64: "x64", aarch64: "arm64" };

/** The platform table for the running Deno process. */
export function hostPlatform(): PlatformTable {
  return platformTable(Deno.build.os, arches[Deno.build.arch] ?? Deno.build.arch);
}

const unrefTimer = (timer: ReturnType<typeof setTimeout>): void => Deno.unrefTimer(timer as unknown as number);

/**
 * Socket activation's view of Deno. Reading a variable needs env
 * permission: one not granted reads as unset (no activation), without a
 * prompt and without throwing.
 */
const activation: ActivationHost = {
  env: (name) =>
    Deno.permissions.querySync({ name: "env", variable: name }).state === "granted" ? Deno.env.get(name) : undefined,
  pid: () => Deno.pid,
  onTerminate: (handler) => {
    // A signal listener does not keep Deno alive; removing the last one restores the default action.
    Deno.addSignalListener("SIGTERM", handler);
    return () => Deno.removeSignalListener("SIGTERM", handler);
  },
};

/** Deno: its node:net on fds; readiness from poll(2) on a thread of Deno's (nonblocking FFI). */
export const denoAdapter: RuntimeAdapter = {
  serveNative: serveNetFd,
  adopt: adoptNetFd,
  watchReadable: (sys) => threadPoller(sys, { unrefTimer }),
  unrefTimer,
  activation,
};

type ServeArgs = [unknown, unknown?];

/**
 * The preload's hook into Deno.serve, which cannot serve an fd: a serve on
 * a served port (or with no port: Deno's 8000 would go nowhere) binds its
 * own socket with reusePort (`--unstable-net`, which the supervisor adds)
 * on the served address, which joins the supervisor's group. Deno.serve
 * listens before it returns, so the serve counts as served at once; its
 * drain is Deno's own shutdown(), which finishes the requests in flight.
 */
export function hookDenoServe(worker: PreloadedWorker): void {
  const deno = Deno as unknown as { serve: (...args: ServeArgs) => { shutdown(): Promise<void> } };
  const original = deno.serve;
  deno.serve = function serve(this: unknown, ...args: ServeArgs) {
    if (!worker.supervised) return original.apply(this, args);
    // Deno.serve(handler), Deno.serve(options, handler) or Deno.serve({ ...options, handler }).
    const [first, second] = args;
    const options = typeof first === "function" ? {} : ((first ?? {}) as Record<string, unknown>);
    const handler = typeof first === "function" ? first : second;
    if (options.path !== undefined || options.transport === "unix") return original.apply(this, args);
    const port = options.port === undefined ? worker.defaultPort() : Number(options.port);
    if (port === undefined) return original.apply(this, args);
    const host = typeof options.hostname === "string" ? options.hostname : undefined;
    const joining = worker.joinServe("Deno.serve", port, host);
    if (joining === undefined) return original.apply(this, args);
    const joined = { ...options, hostname: joining.addr.hostname, port: joining.addr.port, reusePort: true };
    const server = worker.serveJoined(
      joining.index,
      () => (handler === undefined ? original.call(this, joined) : original.call(this, joined, handler)),
      // Deno's own graceful stop: no new connections, the requests in flight finished.
      (served) => served.shutdown(),
    );
    return server;
  };
}
