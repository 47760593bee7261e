import type { NetAddr, Transport } from "../types.ts";

/**
 * Names for inherited sockets in LISTEN_FDNAMES, which is colon-separated,
 * so a name cannot hold a colon: "tcp-127.0.0.1-8080", and IPv6 addresses
 * in brackets with each ":" written as "-" ("tcp-[--1]-8080" is [::1]:8080).
 * IPv6 text never holds "-", so the name reads back unambiguously.
 */
export function formatFdName(addr: NetAddr): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname.replaceAll(":", "-")}]` : addr.hostname;
  return `${addr.transport}-${host}-${addr.port}`;
}

const pattern = /^(tcp|udp)-(\[[0-9a-fA-F.-]+\]|[0-9.]+)-(\d{1,5})$/;

/**
 * The address a name made by {@link formatFdName} stands for, or undefined
 * for any other name (systemd units name their sockets as they like).
 */
export function parseFdName(name: string): NetAddr | undefined {
  const match = pattern.exec(name);
  if (match === null) return undefined;
  const [, transport, host, port] = match as unknown as [string, Transport, string, string];
  const hostname = host.startsWith("[") ? host.slice(1, -1).replaceAll("-", ":") : host;
  const number = Number(port);
  if (number > 65535) return undefined;
  return { transport, hostname, port: number };
}
