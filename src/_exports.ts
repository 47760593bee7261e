// The names every runtime entry re-exports unchanged.
export type { ArchName, Constants, Layouts, OsName, PlatformTable } from "./ffi/_platform.ts";
export { platformTable } from "./ffi/platforms.ts";
export type { Sys } from "./ffi/sys.ts";
export { type AddressInUseReason, ListenerClosedError, SocketError } from "./socket/errors.ts";
export type {
  AcceptedSocket,
  Conn,
  Engine,
  Family,
  Listener,
  ListenOptions,
  NetAddr,
  RawSocket,
  SocketOptions,
  Transport,
} from "./types.ts";
