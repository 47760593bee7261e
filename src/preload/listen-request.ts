/**
 * What a `net.Server.prototype.listen(...)` call asks for, read the way
 * node:net's own normalizeArgs reads it: an options object, a pipe path
 * (a string that is not a number), or a port with an optional host,
 * backlog and callback. Only a TCP port is of interest to the preload;
 * anything else is listened as the app wrote it.
 */
export type ListenRequest =
  | {
      readonly kind: "port";
      /** The port asked for; 0 (or none) lets the kernel pick. */
      readonly port: number;
      /** The host as the app wrote it; undefined for none. */
      readonly host: string | undefined;
      readonly ipv6Only: boolean;
      readonly callback: ((...args: unknown[]) => void) | undefined;
    }
  | { readonly kind: "other" };

const OTHER: ListenRequest = { kind: "other" };

/** A port as node:net takes it: a number or a string of digits, 0 to 65535; undefined when it is not one. */
function portOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  const number = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number) || number < 0 || number > 65535) return undefined;
  return number;
}

function callbackOf(args: readonly unknown[]): ((...args: unknown[]) => void) | undefined {
  const last = args.at(-1);
  return typeof last === "function" ? (last as (...args: unknown[]) => void) : undefined;
}

export function parseListenArgs(args: readonly unknown[]): ListenRequest {
  const first = args[0];
  const callback = callbackOf(args);
  if (typeof first === "object" && first !== null) {
    const options = first as Record<string, unknown>;
    // A handle, an fd or a path: what the app serves is its own business.
    if (options.fd !== undefined || options.handle !== undefined || options._handle !== undefined) return OTHER;
    // node:net listens on the port when both are given.
    if (options.path !== undefined && options.port === undefined) return OTHER;
    const port = portOf(options.port);
    if (port === undefined) return OTHER;
    const host = typeof options.host === "string" ? options.host : undefined;
    return { kind: "port", port, host, ipv6Only: options.ipv6Only === true, callback };
  }
  if (typeof first === "function" || first === undefined) {
    return { kind: "port", port: 0, host: undefined, ipv6Only: false, callback };
  }
  // A string that is not a number is a pipe (Unix socket) path.
  if (typeof first === "string" && portOf(first) === undefined) return OTHER;
  const port = portOf(first);
  if (port === undefined) return OTHER;
  const host = typeof args[1] === "string" ? args[1] : undefined;
  return { kind: "port", port, host, ipv6Only: false, callback };
}
