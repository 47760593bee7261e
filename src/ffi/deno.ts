/**
 * libc through Deno.dlopen, for Deno. `buffer` parameters pass TypedArray
 * memory to C directly. Deno has no errno accessor, so errno is read through
 * `__errno_location()`, whose address is fixed for this thread.
 */
import type { PlatformTable } from "./_platform.ts";
import { type CType, type SymbolSpec, symbols } from "./symbols.ts";
import { errnoReturning, openFirst, type RawFunctions, type Sys } from "./sys.ts";

const ctypes: Record<CType, Deno.NativeType> = {
  i32: "i32",
  u32: "u32",
  buf: "buffer",
  usize: "usize",
  isize: "isize",
};

/**
 * The libc names Deno lets this process open. An `--allow-ffi=…` list
 * names libraries by path, and Deno resolves a bare name ("libc.so.6")
 * against the working directory, so a worker of `reuseport run` also tries
 * the supervisor's libc by its absolute path (REUSEPORT_LIBC), which the
 * supervisor adds to such a list.
 */
function allowedLibc(platform: PlatformTable): string[] {
  const env = Deno.permissions.querySync({ name: "env", variable: "REUSEPORT_LIBC" }).state === "granted";
  const absolute = env ? Deno.env.get("REUSEPORT_LIBC") : undefined;
  const names = absolute === undefined || absolute === "" ? [...platform.libc] : [absolute, ...platform.libc];
  return names.filter((path) => Deno.permissions.querySync({ name: "ffi", path }).state === "granted");
}

/** Loads libc with Deno.dlopen and returns the `Sys` for this platform. */
export function loadSys(platform: PlatformTable): Sys {
  const names = allowedLibc(platform);
  if (names.length === 0) {
    throw new Error("reuseport calls libc through FFI: run Deno with --allow-ffi");
  }
  const definitions: Record<string, Deno.ForeignFunction> = {
    [platform.errnoSymbol]: { parameters: [], result: "pointer" },
  };
  for (const [name, spec] of Object.entries(symbols) as [string, SymbolSpec][]) {
    // Variadic ints are passed like fixed ones on SysV x86_64 and Linux aarch64.
    definitions[name] = {
      parameters: spec.params.map((t) => ctypes[t]),
      result: ctypes[spec.result],
      optional: spec.optional === true,
    };
  }
  // poll(2) again, as a nonblocking call: Deno runs it on a thread of its own and returns a Promise.
  definitions.poll_off_thread = {
    name: "poll",
    parameters: ["buffer", "usize", "i32"],
    result: "i32",
    nonblocking: true,
  };
  const { handle: lib, name } = openFirst(names, (n) => Deno.dlopen(n, definitions));
  const symbolsFound = lib.symbols as Record<string, unknown>;
  const errnoPointer = (symbolsFound[platform.errnoSymbol] as () => Deno.PointerValue)();
  if (errnoPointer === null) throw new Error(`${platform.errnoSymbol}() returned NULL`);
  const errnoView = new Deno.UnsafePointerView(errnoPointer);
  const raw: Record<string, unknown> = {};
  for (const symbol of Object.keys(symbols)) raw[symbol] = symbolsFound[symbol] ?? undefined;
  const sys = errnoReturning(platform, name, raw as RawFunctions, () => errnoView.getInt32(), BigInt);
  const pollOffThread = symbolsFound.poll_off_thread as (
    fds: Uint8Array,
    count: number,
    timeout: number,
  ) => Promise<number>;
  return { ...sys, pollOffThread };
}
