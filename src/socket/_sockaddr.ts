import type { Field, PlatformTable, SockaddrLayout } from "../ffi/_platform.ts";
import type { IpAddress } from "./_ip.ts";

/** A socket address: an IP address and a port. */
export interface SocketAddress extends IpAddress {
  readonly port: number;
}

/** Writes `field` of a struct that starts at `base`. */
function writeUint(view: DataView, base: number, field: Field, value: number, littleEndian: boolean): void {
  const at = base + field.offset;
  if (field.size === 1) view.setUint8(at, value);
  else if (field.size === 2) view.setUint16(at, value, littleEndian);
  else view.setUint32(at, value, littleEndian);
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
 * Writes `struct sockaddr_in` or `struct sockaddr_in6` for this platform at
 * `offset` of `bytes` (seen through `view`), zeroing the struct first.
 * Returns its length. Allocates nothing: the datagram path calls it per send.
 */
export function writeSockaddr(
  platform: PlatformTable,
  address: SocketAddress,
  bytes: Uint8Array,
  view: DataView,
  offset: number,
): number {
  const layout = layoutFor(platform, address.family);
  const host = platform.littleEndian;
  bytes.fill(0, offset, offset + layout.size);
  if (layout.len) writeUint(view, offset, layout.len, layout.size, host);
  const family = address.family === 4 ? platform.constants.AF_INET : platform.constants.AF_INET6;
  writeUint(view, offset, layout.family, family, host);
  writeUint(view, offset, layout.port, address.port, false);
  bytes.set(address.bytes, offset + layout.addr.offset);
  if (layout.scopeId) writeUint(view, offset, layout.scopeId, address.scopeId, host);
  return layout.size;
}

/**
 * Encodes `struct sockaddr_in` or `struct sockaddr_in6` for this platform,
 * into `into` when given (which must be at least sockaddr_storage long).
 * Returns the encoded bytes: the start of `into`, or a new array.
 */
export function encodeSockaddr(platform: PlatformTable, address: SocketAddress, into?: Uint8Array): Uint8Array {
  const buffer = into ?? new Uint8Array(layoutFor(platform, address.family).size);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const length = writeSockaddr(platform, address, buffer, view, 0);
  return buffer.subarray(0, length);
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

/**
 * Encodes `struct sockaddr_un` for a Unix-domain path. A path starting with
 * "@" names Linux's abstract namespace (a NUL first byte, no terminator), as
 * systemd's NOTIFY_SOCKET does. Returns the bytes to pass with their exact
 * length; a path too long for the platform is a RangeError.
 */
export function encodeUnixSockaddr(platform: PlatformTable, path: string): Uint8Array {
  const layout = platform.layouts.sockaddrUn;
  const abstract = path.startsWith("@");
  const name = new TextEncoder().encode(abstract ? path.slice(1) : path);
  // A filesystem path needs room for its NUL; an abstract name needs room for the leading NUL.
  if (name.length + 1 > layout.path.size) {
    throw new RangeError(
      `Unix socket path is ${name.length} bytes, longer than the ${layout.path.size - 1} allowed: ${path}`,
    );
  }
  const length = layout.path.offset + name.length + 1;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  if (layout.len) writeUint(view, 0, layout.len, length, platform.littleEndian);
  writeUint(view, 0, layout.family, platform.constants.AF_UNIX, platform.littleEndian);
  bytes.set(name, layout.path.offset + (abstract ? 1 : 0));
  return bytes;
}
