import { formatHostPort, formatIp, parseIp } from "../socket/_ip.ts";
import type { NetAddr } from "../types.ts";

/** An inherited TCP address as the preload sees it: taken once a server serves it. */
export interface OfferedAddress {
  readonly addr: NetAddr;
  readonly taken: boolean;
}

/**
 * What a listen on a port becomes in a supervised worker: "serve" the
 * inherited socket at `index`; "elsewhere", a port the supervisor does not
 * serve, listened as asked; "mismatch", the supervisor's port with another
 * host, which would make a second group on the port, refused with `message`.
 */
export type ListenMatch =
  | { readonly kind: "serve"; readonly index: number }
  | { readonly kind: "elsewhere"; readonly message: string }
  | { readonly kind: "mismatch"; readonly message: string };

const UNSPECIFIED = new Set(["", "0.0.0.0", "::"]);
const LOOPBACK = new Set(["127.0.0.1", "::1"]);

/** The canonical text of an IP literal, or the text as it is. */
function canonical(host: string): string {
  const ip = parseIp(host);
  return ip === undefined ? host : formatIp(ip);
}

export function describeServed(offered: readonly OfferedAddress[]): string {
  return offered.map((o) => `tcp ${formatHostPort(o.addr.hostname, o.addr.port)}`).join(", ");
}

/**
 * Matches a listen on `port` (and `host` as the app wrote it) against what
 * the supervisor serves. No host, an unspecified one or the served host
 * takes the served socket; "localhost" takes a loopback one. Port 0 never
 * matches: the app asked the kernel for a port of its own.
 */
export function matchListen(port: number, host: string | undefined, offered: readonly OfferedAddress[]): ListenMatch {
  const asked = host === undefined ? `port ${port}` : formatHostPort(host, port);
  const served = describeServed(offered);
  const onPort = offered.map((o, index) => ({ ...o, index })).filter((o) => o.addr.port === port && port !== 0);
  if (onPort.length === 0) {
    const hint = port === 0 ? "" : `, or give reuseport run --port ${port}`;
    return {
      kind: "elsewhere",
      message: `the app listens on ${port === 0 ? "a port the kernel picks (port 0)" : asked}, which the supervisor does not serve (it serves ${served}); listen on process.env.PORT${hint}`,
    };
  }
  const free = onPort.filter((o) => !o.taken);
  const wanted = host === undefined ? "" : canonical(host);
  // The served host itself first ("::" where both 0.0.0.0 and :: are served), then what the host stands for.
  const found =
    free.find((o) => o.addr.hostname === wanted) ??
    (UNSPECIFIED.has(wanted)
      ? free[0]
      : wanted === "localhost"
        ? free.find((o) => LOOPBACK.has(o.addr.hostname))
        : undefined);
  if (found !== undefined) return { kind: "serve", index: found.index };
  const taken = onPort.length > 0 && free.length === 0;
  return {
    kind: "mismatch",
    message: taken
      ? `the app listens on ${asked} a second time, but the supervisor's ${served} is served already: each worker serves it once`
      : `the app listens on ${asked}, but the supervisor serves ${served}: another host on the same port would make a second group that the supervisor neither owns nor balances; listen without a host, or give reuseport run --host ${host}`,
  };
}
