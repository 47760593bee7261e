/**
 * reuseport for Node: SO_REUSEPORT socket groups through libc.
 * @module
 */
import { type Api, createApi } from "./_api.ts";
import { loadSys } from "./ffi/node.ts";
import { hostPlatform } from "./runtime/node.ts";

export * from "./_exports.ts";

const api: Api = createApi(() => loadSys(hostPlatform()));

/** {@inheritDoc Api.openSocket} */
export const openSocket: Api["openSocket"] = api.openSocket;
/** {@inheritDoc Api.sys} */
export const sys: Api["sys"] = api.sys;
