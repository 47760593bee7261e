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

/** Deno: its node:net on fds; readiness from poll(2) on a thread of Deno's (nonblocking FFI). */
export const denoAdapter: RuntimeAdapter = {
  serveNative: serveNetFd,
  adopt: adoptNetFd,
  watchReadable: (sys) => threadPoller(sys, { unrefTimer }),
  unrefTimer,
};
