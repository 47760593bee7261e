/** An IP address as bytes, as the kernel wants it. */
export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
  /** IPv6 zone index (the number after `%`); 0 when absent. */
  readonly scopeId: number;
}

const decimalOctet = /^(?:0|[1-9]\d{0,2})$/;
const hexGroup = /^[0-9a-fA-F]{1,4}$/;

/** Parses dotted-quad IPv4 ("127.0.0.1"); no shorthand, no leading zeros. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!decimalOctet.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseGroups(text: string): number[] | undefined {
  if (text === "") return [];
  const groups: number[] = [];
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIPv4(part);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else if (hexGroup.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** Parses an IPv6 literal (RFC 4291 text forms, optional numeric `%zone`). */
export function parseIPv6(text: string): { bytes: Uint8Array; scopeId: number } | undefined {
  let scopeId = 0;
  let address = text;
  const percent = text.indexOf("%");
  if (percent !== -1) {
    const zone = text.slice(percent + 1);
    if (!/^\d{1,10}$/.test(zone) || Number(zone) > 0xffffffff) return undefined;
    scopeId = Number(zone);
    address = text.slice(0, percent);
  }
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] as string);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return { bytes, scopeId };
}

/**
 * Parses an IP literal. IPv6 may be written in brackets ("[::1]"), as in
 * URLs. Returns undefined for anything else, including host names.
 */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, bytes: v4, scopeId: 0 };
  const unbracketed = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v6 = parseIPv6(unbracketed);
  return v6 === undefined ? undefined : { family: 6, ...v6 };
}

/** Parses a hostname the library accepts: an IP literal, or "localhost" (127.0.0.1). Names are not resolved. */
export function parseHost(text: string): IpAddress | undefined {
  return parseIp(text === "localhost" ? "127.0.0.1" : text);
}

/** Formats an address the way `inet_ntop` does (RFC 5952 for IPv6). */
export function formatIp(address: IpAddress): string {
  const { bytes } = address;
  if (address.family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // IPv4-mapped addresses read best with their IPv4 tail.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join(".")}${zone(address)}`;
  }
  // The longest run of two or more zero groups becomes "::" (the first, on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(":");
  const text =
    bestStart === -1 ? hex(groups) : `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
  return `${text}${zone(address)}`;
}

function zone(address: IpAddress): string {
  return address.scopeId === 0 ? "" : `%${address.scopeId}`;
}

/** "host:port", an IPv6 host in brackets ("[::1]:8080"), as URLs and ss write them. */
export function formatHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
