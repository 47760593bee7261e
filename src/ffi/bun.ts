/**
 * libc through bun:ffi, for Bun. TypedArrays passed as `ptr` arguments are
 * converted at call time (a pointer is never cached: the JIT may move small
 * arrays). bun:ffi has no errno accessor, so errno is read through
 * `__errno_location()`, whose address is fixed for this thread.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import type { PlatformTable } from "./_platform.ts";
import { type CType, type SymbolSpec, symbols } from "./symbols.ts";
import { errnoReturning, openFirst, type RawFunctions, type Sys } from "./sys.ts";

const ctypes: Record<CType, FFIType> = {
  i32: FFIType.i32,
  u32: FFIType.u32,
  buf: FFIType.ptr,
  usize: FFIType.u64,
  isize: FFIType.i64_fast,
};

type Declaration = { args: FFIType[]; returns: FFIType };

function declaration(spec: SymbolSpec): Declaration {
  // Variadic ints go in registers like fixed ones on the SysV x86_64 and
  // Linux aarch64 ABIs, so a fixed prototype is exact there (not on Apple arm64).
  return { args: spec.params.map((t) => ctypes[t]), returns: ctypes[spec.result] };
}

/** Loads libc with bun:ffi and returns the `Sys` for this platform. */
export function loadSys(platform: PlatformTable): Sys {
  const required: Record<string, Declaration> = {
    [platform.errnoSymbol]: { args: [], returns: FFIType.ptr },
  };
  const optional: [string, SymbolSpec][] = [];
  for (const [name, spec] of Object.entries(symbols) as [string, SymbolSpec][]) {
    if (spec.optional) optional.push([name, spec]);
    else required[name] = declaration(spec);
  }
  const { handle: lib, name } = openFirst(platform.libc, (n) => dlopen(n, required));
  const raw: Record<string, unknown> = { ...lib.symbols };
  for (const [symbol, spec] of optional) {
    try {
      raw[symbol] = dlopen(name, { [symbol]: declaration(spec) }).symbols[symbol];
    } catch {
      raw[symbol] = undefined;
    }
  }
  const errnoAddress = (lib.symbols[platform.errnoSymbol] as () => number)();
  const sys = errnoReturning(platform, name, raw as RawFunctions, () => read.i32(errnoAddress, 0));
  return { ...sys, ...pollWorker(name) };
}

/**
 * bun:ffi has no asynchronous calls, so a Worker makes the blocking poll(2)
 * and posts the result back. The worker's source is inline so it survives
 * bundling; it opens the same libc as the main thread.
 */
function workerSource(libcName: string): string {
  return `import { dlopen } from "bun:ffi";
const { symbols } = dlopen(${JSON.stringify(libcName)}, { poll: { args: ["ptr", "u64", "i32"], returns: "i32" } });
self.onmessage = (event) => {
  const { fds, count, timeout } = event.data;
  const result = symbols.poll(fds, count, timeout);
  self.postMessage({ result, fds });
};
`;
}

function pollWorker(libcName: string): Pick<Sys, "pollOffThread" | "setPollRef"> {
  let worker: Worker | undefined;
  let ref = true;
  let pending: { fds: Uint8Array; resolve: (result: number) => void } | undefined;
  const start = (): Worker => {
    const url = URL.createObjectURL(new Blob([workerSource(libcName)], { type: "application/javascript" }));
    const created = new Worker(url);
    created.onmessage = (event: MessageEvent<{ result: number; fds: Uint8Array }>) => {
      // The worker loads its source asynchronously: the URL must live until it answers.
      URL.revokeObjectURL(url);
      const call = pending;
      pending = undefined;
      call?.fds.set(event.data.fds);
      call?.resolve(event.data.result);
    };
    if (!ref) created.unref();
    return created;
  };
  return {
    pollOffThread(fds, count, timeoutMs) {
      if (pending) return Promise.reject(new Error("one off-thread poll at a time"));
      worker ??= start();
      const running = worker;
      return new Promise<number>((resolve) => {
        pending = { fds, resolve };
        running.postMessage({ fds: fds.slice(), count, timeout: timeoutMs });
      });
    },
    setPollRef(on) {
      ref = on;
      if (on) worker?.ref();
      else worker?.unref();
    },
  };
}
