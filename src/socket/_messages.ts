import type { Sys } from "../ffi/sys.ts";
import { formatIp } from "./_ip.ts";
import { decodeSockaddr, type SocketAddress, writeSockaddr } from "./_sockaddr.ts";

/** One datagram read out of a batch. */
export interface ReceivedMessage {
  readonly data: Uint8Array;
  readonly hostname: string;
  readonly port: number;
  /** The datagram's real length when it was longer than the slot (then `data` is cut); otherwise undefined. */
  readonly truncatedFrom: number | undefined;
}

/** IPv4 peers whose text form is kept (then the cache starts over). */
const NAME_CACHE = 4096;

/** Room for an IPv6 socket address, 8-byte aligned. */
const NAME_SLOT = 32;

const align8 = (n: number): number => (n + 7) & ~7;

function setPointer(view: DataView, offset: number, address: number, littleEndian: boolean): void {
  view.setBigUint64(offset, BigInt(address), littleEndian);
}

/**
 * `count` message slots for recvmmsg/sendmmsg in one ArrayBuffer: the
 * mmsghdr array first, then per slot an iovec, a socket address and
 * `slotSize` bytes of data. The structs point into the same memory, so it is
 * allocated once (outside the collected heap, where it never moves) and
 * kept for the socket's lifetime; no datagram allocates a receive buffer.
 * Where libc has no recvmmsg the slots serve recvfrom/sendto one at a time.
 */
export class MessageBatch {
  readonly count: number;
  readonly slotSize: number;
  /** The mmsghdr array, as handed to recvmmsg/sendmmsg (empty without mmsghdr). */
  readonly vector: Uint8Array;
  readonly #sys: Sys;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #headerSize: number;
  readonly #slotStart: number;
  readonly #slotStride: number;
  readonly #nameStart: number;
  readonly #dataStart: number;
  readonly #ipv4Names = new Map<number, string>();

  constructor(sys: Sys, count: number, slotSize: number) {
    const { layouts } = sys.platform;
    this.#sys = sys;
    this.count = count;
    this.slotSize = slotSize;
    this.#headerSize = layouts.mmsghdr?.size ?? 0;
    this.#slotStart = align8(this.#headerSize * count);
    this.#slotStride = align8(layouts.iovec.size + NAME_SLOT + slotSize);
    this.#nameStart = this.#slotStart + layouts.iovec.size;
    this.#dataStart = this.#nameStart + NAME_SLOT;
    // An ArrayBuffer of its own: its store sits outside the collected heap and never moves.
    const memory = new ArrayBuffer(this.#slotStart + this.#slotStride * count);
    this.#bytes = new Uint8Array(memory);
    this.#view = new DataView(memory);
    this.vector = this.#bytes.subarray(0, this.#headerSize * count);
    if (layouts.mmsghdr !== undefined) this.#linkHeaders(sys.addressOf(this.#bytes));
    for (let i = 0; i < count; i++) this.#setLength(i, slotSize);
  }

  /** An iovec's size_t length, as two 32-bit halves (no BigInt on the hot path). */
  #setLength(i: number, length: number): void {
    const field = this.#sys.platform.layouts.iovec.len;
    const at = this.#iovec(i) + field.offset;
    const little = this.#sys.platform.littleEndian;
    this.#view.setUint32(little ? at : at + 4, length, little);
    this.#view.setUint32(little ? at + 4 : at, 0, little);
  }

  // Offsets of slot i's parts: plain arithmetic on fields, since they are on the per-datagram path.
  #iovec(i: number): number {
    return this.#slotStart + i * this.#slotStride;
  }

  #name(i: number): number {
    return this.#nameStart + i * this.#slotStride;
  }

  #data(i: number): number {
    return this.#dataStart + i * this.#slotStride;
  }

  /** Points every header at its slot's iovec and address, and every iovec at its data. */
  #linkHeaders(base: number): void {
    const { msghdr, iovec } = this.#sys.platform.layouts;
    const view = this.#view;
    const little = this.#sys.platform.littleEndian;
    for (let i = 0; i < this.count; i++) {
      const header = i * this.#headerSize;
      setPointer(view, header + msghdr.name.offset, base + this.#name(i), little);
      setPointer(view, header + msghdr.iov.offset, base + this.#iovec(i), little);
      view.setUint32(header + msghdr.iovlen.offset, 1, little);
      setPointer(view, this.#iovec(i) + iovec.base.offset, base + this.#data(i), little);
    }
  }

  /**
   * Readies the first `n` headers for recvmmsg: the address room (the kernel
   * overwrites namelen) and full-size buffers where a send shortened them.
   */
  prepareReceive(n: number): void {
    const { msghdr } = this.#sys.platform.layouts;
    const view = this.#view;
    const little = this.#sys.platform.littleEndian;
    for (let i = 0; i < n; i++) view.setUint32(i * this.#headerSize + msghdr.namelen.offset, NAME_SLOT, little);
  }

  /**
   * The first `n` received datagrams, each copied out into a buffer of its
   * own (the caller may keep or transfer it) so the slots can be reused.
   */
  takeReceived(n: number): ReceivedMessage[] {
    const { layouts, constants, littleEndian } = this.#sys.platform;
    const lengthField = layouts.mmsghdr?.len;
    if (lengthField === undefined) throw new Error("takeReceived() needs recvmmsg");
    const view = this.#view;
    const messages: ReceivedMessage[] = [];
    for (let i = 0; i < n; i++) {
      const header = i * this.#headerSize;
      const length = view.getUint32(header + lengthField.offset, littleEndian);
      const start = this.#data(i);
      const data = this.#bytes.slice(start, start + Math.min(length, this.slotSize));
      const flags = view.getUint32(header + layouts.msghdr.flags.offset, littleEndian);
      const truncated = (flags & constants.MSG_TRUNC) !== 0 || length > this.slotSize;
      messages.push(this.#message(i, data, truncated ? length : undefined));
    }
    return messages;
  }

  /** Slot 0's data and address buffers, for recvfrom. */
  single(): { data: Uint8Array; name: Uint8Array; nameLength: Uint8Array } {
    const name = this.#name(0);
    return {
      data: this.#bytes.subarray(this.#data(0), this.#data(0) + this.slotSize),
      name: this.#bytes.subarray(name, name + NAME_SLOT - 4),
      // The socklen_t in/out parameter sits in the address slot's last 4 bytes.
      nameLength: this.#bytes.subarray(name + NAME_SLOT - 4, name + NAME_SLOT),
    };
  }

  /** Decodes a datagram recvfrom put in slot 0. */
  takeSingle(length: number, truncatedFrom: number | undefined): ReceivedMessage {
    const data = this.#bytes.slice(this.#data(0), this.#data(0) + Math.min(length, this.slotSize));
    return this.#message(0, data, truncatedFrom);
  }

  #message(i: number, data: Uint8Array, truncatedFrom: number | undefined): ReceivedMessage {
    const { layouts, constants, littleEndian } = this.#sys.platform;
    const name = this.#name(i);
    const family = layouts.sockaddrIn.family;
    const raw =
      family.size === 1
        ? this.#view.getUint8(name + family.offset)
        : this.#view.getUint16(name + family.offset, littleEndian);
    if (raw === constants.AF_INET) {
      // IPv4 is the common case: read in place, and the same peers come back,
      // so their text is kept (the same string each time also hashes once).
      const at = name + layouts.sockaddrIn.addr.offset;
      const value = this.#view.getUint32(at, false);
      let hostname = this.#ipv4Names.get(value);
      if (hostname === undefined) {
        const b = this.#bytes;
        hostname = `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
        if (this.#ipv4Names.size >= NAME_CACHE) this.#ipv4Names.clear();
        this.#ipv4Names.set(value, hostname);
      }
      return {
        data,
        hostname,
        port: this.#view.getUint16(name + layouts.sockaddrIn.port.offset, false),
        truncatedFrom,
      };
    }
    const address = decodeSockaddr(this.#sys.platform, this.#bytes.subarray(name, name + NAME_SLOT));
    return { data, hostname: address === undefined ? "" : formatIp(address), port: address?.port ?? 0, truncatedFrom };
  }

  /** Fills slot `i` for sendmmsg: the data (at most `slotSize` bytes) and the destination. */
  setOutgoing(i: number, data: Uint8Array, to: SocketAddress): void {
    const { layouts, littleEndian } = this.#sys.platform;
    this.#bytes.set(data, this.#data(i));
    this.#setLength(i, data.length);
    const header = i * this.#headerSize;
    const nameLength = writeSockaddr(this.#sys.platform, to, this.#bytes, this.#view, this.#name(i));
    this.#view.setUint32(header + layouts.msghdr.namelen.offset, nameLength, littleEndian);
  }
}
