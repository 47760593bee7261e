import type { SocketOptions, Transport } from "../types.ts";
import { formatIp, type IpAddress, parseHost } from "./_ip.ts";

/** SocketOptions after validation, with every default filled in. */
export interface ResolvedSocketOptions {
  readonly transport: Transport;
  readonly ip: IpAddress;
  /** Canonical text of `ip`. */
  readonly hostname: string;
  readonly port: number;
  readonly reusePort: boolean;
  readonly reuseAddr: boolean;
  readonly backlog: number;
  /** Only meaningful for IPv6. */
  readonly ipv6Only: boolean;
}

const DEFAULT_BACKLOG = 511;
const knownKeys = new Set(["transport", "hostname", "port", "reusePort", "reuseAddr", "backlog", "ipv6Only"]);

function optionalBoolean(options: SocketOptions, key: keyof SocketOptions): boolean | undefined {
  const value = options[key];
  if (value === undefined || typeof value === "boolean") return value;
  throw new TypeError(`options.${key} must be a boolean, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  return value === null ? "null" : typeof value;
}

/**
 * Checks every option before any system call: wrong types throw TypeError,
 * values out of range throw RangeError. `extraKeys` are options a caller
 * layered on top (such as `engine`) that this function leaves alone.
 */
export function resolveSocketOptions(options: SocketOptions, extraKeys: readonly string[] = []): ResolvedSocketOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!knownKeys.has(key) && !extraKeys.includes(key)) throw new TypeError(`unknown option "${key}"`);
  }

  const transport = options.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "udp") {
    throw new TypeError(`options.transport must be "tcp" or "udp", got ${describe(transport)}`);
  }

  const { port } = options;
  if (typeof port !== "number") throw new TypeError(`options.port must be a number, got ${describe(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`options.port must be an integer from 0 to 65535, got ${port}`);
  }

  const requested = options.hostname ?? "0.0.0.0";
  if (typeof requested !== "string") {
    throw new TypeError(`options.hostname must be a string, got ${describe(requested)}`);
  }
  const ip = parseHost(requested);
  if (ip === undefined) {
    throw new TypeError(
      `options.hostname must be an IPv4 or IPv6 literal or "localhost", got ${describe(requested)} (resolve names first)`,
    );
  }

  const backlog = options.backlog ?? DEFAULT_BACKLOG;
  if (typeof backlog !== "number") throw new TypeError(`options.backlog must be a number, got ${describe(backlog)}`);
  if (!Number.isInteger(backlog) || backlog <= 0 || backlog > 0x7fffffff) {
    throw new RangeError(`options.backlog must be a positive integer, got ${backlog}`);
  }
  if (options.backlog !== undefined && transport === "udp") {
    throw new TypeError("options.backlog applies to TCP only");
  }

  const ipv6Only = optionalBoolean(options, "ipv6Only");
  if (ipv6Only !== undefined && ip.family !== 6) {
    throw new TypeError(`options.ipv6Only applies to IPv6 addresses only, not ${requested}`);
  }

  return {
    transport,
    ip,
    hostname: formatIp(ip),
    port,
    reusePort: optionalBoolean(options, "reusePort") ?? true,
    reuseAddr: optionalBoolean(options, "reuseAddr") ?? transport === "tcp",
    backlog,
    ipv6Only: ipv6Only ?? false,
  };
}
