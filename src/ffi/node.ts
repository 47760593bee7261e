/**
 * libc through koffi, for Node.js. koffi hands TypedArray memory to C
 * directly (no copy) and keeps each call's errno for `koffi.errno()`.
 */
import koffi, { type LibraryHandle } from "koffi";
import type { PlatformTable } from "./_platform.ts";
import { sharedPoll } from "./_shared-poll.ts";
import type { WatchReadable } from "./readiness.ts";
import { type CType, type SymbolSpec, symbols } from "./symbols.ts";
import { errnoReturning, openFirst, type RawFunctions, type Sys } from "./sys.ts";

const ctypes: Record<CType, string> = {
  i32: "int",
  u32: "uint32_t",
  buf: "void *",
  usize: "size_t",
  isize: "intptr_t",
};

type KoffiFn = (...args: unknown[]) => number | bigint;

function declare(lib: LibraryHandle, name: string, spec: SymbolSpec): KoffiFn | undefined {
  const result = ctypes[spec.result];
  const fixed = spec.params.slice(0, spec.variadicAfter ?? spec.params.length).map((t) => ctypes[t]);
  let fn: KoffiFn;
  try {
    const prototype = `${result} ${name}(${fixed.join(", ")}${spec.variadicAfter === undefined ? "" : ", ..."})`;
    fn = lib.func(prototype) as KoffiFn;
  } catch (error) {
    if (spec.optional) return undefined;
    throw error;
  }
  const after = spec.variadicAfter;
  if (after === undefined) return fn;
  // koffi wants each variadic argument preceded by its C type.
  const extraTypes = spec.params.slice(after).map((t) => ctypes[t]);
  return (...args: unknown[]) => {
    const call = args.slice(0, after);
    for (const [i, type] of extraTypes.entries()) call.push(type, args[after + i]);
    return fn(...call);
  };
}

/** Loads libc with koffi and returns the `Sys` for this platform. */
export function loadSys(platform: PlatformTable): Sys {
  const { handle: lib, name } = openFirst(platform.libc, (n) => koffi.load(n));
  const raw: Record<string, KoffiFn | undefined> = {};
  for (const [symbol, spec] of Object.entries(symbols)) raw[symbol] = declare(lib, symbol, spec);
  return errnoReturning(platform, name, raw as RawFunctions, () => koffi.errno());
}

/**
 * Readiness on Node's own event loop: koffi's poll handle is a libuv
 * uv_poll_t, so no thread blocks and ref/unref work as for any handle.
 */
export const watchReadable: WatchReadable = sharedPoll(
  (fd, callback) => koffi.node.poll(fd, { readable: true }, callback),
  setImmediate,
  (closeAll) => process.once("exit", closeAll),
);
