import { parseFdName } from "../activation/names.ts";
import type { InheritedSocket } from "../types.ts";

/**
 * The addresses a `--self-bind` supervisor serves, from REUSEPORT_SELF_BIND
 * (fd names, colon-separated, as LISTEN_FDNAMES), for the worker whose pid
 * LISTEN_PID names and no other process (a child inherits the variables).
 * fd -1: the worker binds each itself, joining the group with SO_REUSEPORT.
 */
export function selfBoundAddresses(
  names: string | undefined,
  listenPid: string | undefined,
  pid: number,
): InheritedSocket[] {
  if (names === undefined || names === "" || listenPid !== String(pid)) return [];
  return names.split(":").flatMap((name) => {
    const localAddr = parseFdName(name);
    return localAddr === undefined ? [] : [{ fd: -1, name, transport: localAddr.transport, localAddr, adopted: false }];
  });
}
