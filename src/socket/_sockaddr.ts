import type { Field, PlatformTable, SockaddrLayout } from "../ffi/_platform.ts";
import type { IpAddress } from "./_ip.ts";

/** A socket address: an IP address and a port. */
export interface SocketAddress extends IpAddress {
  readonly port: number;
}

function writeUint(view: DataView, field: Field, value: number, littleEndian: boolean): void {
  if (field.size === 1) view.setUint8(field.offset, value);
  else if (field.size === 2) view.setUint16(field.offset, value, littleEndian);
  else view.setUint32(field.offset, value, littleEndian);
}

function readUint(view: DataView, field: Field, littleEndian: boolean): number {
  if (field.size === 1) return view.getUint8(field.offset);
  if (field.size === 2) return view.getUint16(field.offset, littleEndian);
  return view.getUint32(field.offset, littleEndian);
}

function layoutFor(platform: PlatformTable, family: 4 | 6): SockaddrLayout {
  return family === 4 ? platform.layouts.sockaddrIn : platform.layouts.sockaddrIn6;
}

/**
 * Encodes `struct sockaddr_in` or `struct sockaddr_in6` for this platform,
 * into `into` when given (which must be at least sockaddr_storage long).
 * Returns the encoded bytes: the start of `into`, or a new array.
 */
export function encodeSockaddr(platform: PlatformTable, address: SocketAddress, into?: Uint8Array): Uint8Array {
  const layout = layoutFor(platform, address.family);
  const buffer = into === undefined ? new Uint8Array(layout.size) : into.fill(0, 0, layout.size);
  const view = new DataView(buffer.buffer, buffer.byteOffset, layout.size);
  const host = platform.littleEndian;
  if (layout.len) writeUint(view, layout.len, layout.size, host);
  const family = address.family === 4 ? platform.constants.AF_INET : platform.constants.AF_INET6;
  writeUint(view, layout.family, family, host);
  writeUint(view, layout.port, address.port, false);
  buffer.set(address.bytes, layout.addr.offset);
  if (layout.scopeId) writeUint(view, layout.scopeId, address.scopeId, host);
  return into === undefined ? buffer : buffer.subarray(0, layout.size);
}

/**
 * Decodes a sockaddr filled in by the kernel (getsockname, accept4). Returns
 * undefined for families other than IPv4 and IPv6.
 */
export function decodeSockaddr(platform: PlatformTable, buffer: Uint8Array): SocketAddress | undefined {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const host = platform.littleEndian;
  // The family field sits at the same place in both layouts.
  const raw = readUint(view, platform.layouts.sockaddrIn.family, host);
  const family = raw === platform.constants.AF_INET ? 4 : raw === platform.constants.AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const layout = layoutFor(platform, family);
  const bytes = buffer.slice(layout.addr.offset, layout.addr.offset + layout.addr.size);
  const scopeId = layout.scopeId ? readUint(view, layout.scopeId, host) : 0;
  return { family, bytes, scopeId, port: readUint(view, layout.port, false) };
}
