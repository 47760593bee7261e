/**
 * reuseport for Deno: SO_REUSEPORT socket groups through libc.
 * @module
 */
import { type Api, createApi } from "./_api.ts";
import { loadSys } from "./ffi/deno.ts";
import { denoAdapter, hostPlatform } from "./runtime/deno.ts";

export * from "./_exports.ts";

const api: Api = createApi(() => loadSys(hostPlatform()), denoAdapter);

/** {@inheritDoc Api.openSocket} */
export const openSocket: Api["openSocket"] = api.openSocket;
/** {@inheritDoc Api.listen} */
export const listen: Api["listen"] = api.listen;
/** {@inheritDoc Api.listenDatagram} */
export const listenDatagram: Api["listenDatagram"] = api.listenDatagram;
/** {@inheritDoc Api.accept4} */
export const accept4: Api["accept4"] = api.accept4;
/** {@inheritDoc Api.watchReadable} */
export const watchReadable: Api["watchReadable"] = api.watchReadable;
/** {@inheritDoc Api.sys} */
export const sys: Api["sys"] = api.sys;
