/**
 * reuseport for Node: SO_REUSEPORT socket groups through libc.
 * @module
 */
import { type Api, createApi } from "./_api.ts";
import { superviseWith } from "./_supervise.ts";
import { loadSys } from "./ffi/node.ts";
import { hostPlatform, nodeAdapter } from "./runtime/node.ts";
import type { SuperviseOptions, Supervisor } from "./supervisor/types.ts";

export * from "./_exports.ts";

const api: Api = createApi(() => loadSys(hostPlatform()), nodeAdapter);

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
/** {@inheritDoc Api.socketStats} */
export const socketStats: Api["socketStats"] = api.socketStats;
/** {@inheritDoc Api.listenOverflows} */
export const listenOverflows: Api["listenOverflows"] = api.listenOverflows;
/** {@inheritDoc Api.inspectPort} */
export const inspectPort: Api["inspectPort"] = api.inspectPort;
/** {@inheritDoc Api.steer} */
export const steer: Api["steer"] = api.steer;
/** {@inheritDoc Api.setAffinity} */
export const setAffinity: Api["setAffinity"] = api.setAffinity;
/** {@inheritDoc Api.getAffinity} */
export const getAffinity: Api["getAffinity"] = api.getAffinity;
/** {@inheritDoc Api.getIncomingCpu} */
export const getIncomingCpu: Api["getIncomingCpu"] = api.getIncomingCpu;
/** {@inheritDoc Api.setIncomingCpu} */
export const setIncomingCpu: Api["setIncomingCpu"] = api.setIncomingCpu;
/** {@inheritDoc Api.inheritedSockets} */
export const inheritedSockets: Api["inheritedSockets"] = api.inheritedSockets;
/** {@inheritDoc Api.notifyReady} */
export const notifyReady: Api["notifyReady"] = api.notifyReady;
/** {@inheritDoc Api.sys} */
export const sys: Api["sys"] = api.sys;
/**
 * Starts a supervisor that owns the group's sockets for its whole life:
 * one SO_REUSEPORT socket per worker slot per address, each handed to its
 * slot's worker at fd 3 onward (systemd's LISTEN_FDS protocol), so that
 * restarts, crashes, reloads and scaling never reset a queued connection.
 * Workers run `options.app` on Node, Bun or Deno; in them, listen(),
 * listenDatagram() and openSocket() adopt the inherited sockets.
 *
 * @throws {TypeError | RangeError} for invalid options, before anything starts.
 * @throws {SocketError} when a group socket cannot be opened; none is left open.
 */
export const supervise: (options: SuperviseOptions) => Supervisor = superviseWith(api, nodeAdapter, "node");
