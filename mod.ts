/**
 * reuseport for Deno: SO_REUSEPORT socket groups through libc.
 *
 * ```ts
 * import { openSocket } from "./mod.ts";
 * const socket = openSocket({ port: 8080 });
 * ```
 * Needs `--allow-ffi`.
 * @module
 */
export * from "./src/deno.ts";
