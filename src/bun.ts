/**
 * reuseport for Bun: SO_REUSEPORT socket groups through libc.
 * @module
 */
import { type Api, createApi } from "./_api.ts";
import { loadSys } from "./ffi/bun.ts";
import { hostPlatform } from "./runtime/bun.ts";

export * from "./_exports.ts";

const api: Api = createApi(() => loadSys(hostPlatform()));

/** {@inheritDoc Api.openSocket} */
export const openSocket: Api["openSocket"] = api.openSocket;
/** {@inheritDoc Api.sys} */
export const sys: Api["sys"] = api.sys;
