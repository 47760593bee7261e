import type { ActivationHost } from "../activation/inherited.ts";
import type { PlatformTable } from "../ffi/_platform.ts";
import { platformTable } from "../ffi/platforms.ts";
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
