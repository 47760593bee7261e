import type { Sys } from "../ffi/sys.ts";
import { formatIp } from "./_ip.ts";
import { decodeSockaddr, encodeSockaddr, type SocketAddress } from "./_sockaddr.ts";

/** One datagram read out of a batch. */
export interface ReceivedMessage {
  readonly data: Uint8Array;
  readonly hostname: string;
  readonly port: number;
  /** The datagram's real length when it was longer than the slot (then `data` is cut); otherwise undefined. */
  readonly truncatedFrom: number | undefined;
}

/** Room for an IPv6 socket address, 8-byte aligned. */
const NAME_SLOT = 32;

const align8 = (n: number): number => (n + 7) & ~7;

function setPointer(view: DataView, offset: number, address: number): void {
  view.setBigUint64(offset, BigInt(address), true);
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

  constructor(sys: Sys, count: number, slotSize: number) {
    const { layouts } = sys.platform;
    this.#sys = sys;
    this.count = count;
    this.slotSize = slotSize;
    this.#headerSize = layouts.mmsghdr?.size ?? 0;
    this.#slotStart = align8(this.#headerSize * count);
    this.#slotStride = align8(layouts.iovec.size + NAME_SLOT + slotSize);
    // An ArrayBuffer of its own: its store sits outside the collected heap and never moves.
    const memory = new ArrayBuffer(this.#slotStart + this.#slotStride * count);
    this.#bytes = new Uint8Array(memory);
    this.#view = new DataView(memory);
    this.vector = this.#bytes.subarray(0, this.#headerSize * count);
    if (layouts.mmsghdr !== undefined) this.#linkHeaders(sys.addressOf(this.#bytes));
  }

  #iovec(i: number): number {
    return this.#slotStart + i * this.#slotStride;
  }

  #name(i: number): number {
    return this.#iovec(i) + this.#sys.platform.layouts.iovec.size;
  }

  #data(i: number): number {
    return this.#name(i) + NAME_SLOT;
  }

  /** Points every header at its slot's iovec and address, and every iovec at its data. */
  #linkHeaders(base: number): void {
    const { msghdr, iovec } = this.#sys.platform.layouts;
    const view = this.#view;
    for (let i = 0; i < this.count; i++) {
      const header = i * this.#headerSize;
      setPointer(view, header + msghdr.name.offset, base + this.#name(i));
      setPointer(view, header + msghdr.iov.offset, base + this.#iovec(i));
      view.setUint32(header + msghdr.iovlen.offset, 1, true);
      setPointer(view, this.#iovec(i) + iovec.base.offset, base + this.#data(i));
    }
  }

  /** Readies the first `n` headers for recvmmsg: full-size buffers and address room. */
  prepareReceive(n: number): void {
    const { msghdr, iovec } = this.#sys.platform.layouts;
    const view = this.#view;
    for (let i = 0; i < n; i++) {
      const header = i * this.#headerSize;
      view.setUint32(header + msghdr.namelen.offset, NAME_SLOT, true);
      view.setUint32(header + msghdr.flags.offset, 0, true);
      view.setBigUint64(this.#iovec(i) + iovec.len.offset, BigInt(this.slotSize), true);
    }
  }

  /**
   * The first `n` received datagrams, copied out into one new buffer (one
   * allocation per batch, not per datagram) so the slots can be reused.
   */
  takeReceived(n: number): ReceivedMessage[] {
    const { layouts, constants } = this.#sys.platform;
    const lengthField = layouts.mmsghdr?.len;
    if (lengthField === undefined) throw new Error("takeReceived() needs recvmmsg");
    const view = this.#view;
    const lengths: number[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const length = view.getUint32(i * this.#headerSize + lengthField.offset, true);
      lengths.push(length);
      total += Math.min(length, this.slotSize);
    }
    const out = new Uint8Array(total);
    const messages: ReceivedMessage[] = [];
    let at = 0;
    for (let i = 0; i < n; i++) {
      const length = lengths[i] as number;
      const kept = Math.min(length, this.slotSize);
      const start = this.#data(i);
      out.set(this.#bytes.subarray(start, start + kept), at);
      const flags = view.getUint32(i * this.#headerSize + layouts.msghdr.flags.offset, true);
      const truncated = (flags & constants.MSG_TRUNC) !== 0 || length > this.slotSize;
      messages.push(this.#message(i, out.subarray(at, at + kept), truncated ? length : undefined));
      at += kept;
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
    const address = decodeSockaddr(this.#sys.platform, this.#bytes.subarray(this.#name(i), this.#name(i) + NAME_SLOT));
    return {
      data,
      hostname: address === undefined ? "" : formatIp(address),
      port: address?.port ?? 0,
      truncatedFrom,
    };
  }

  /** Fills slot `i` for sendmmsg: the data (at most `slotSize` bytes) and the destination. */
  setOutgoing(i: number, data: Uint8Array, to: SocketAddress): void {
    const { msghdr, iovec } = this.#sys.platform.layouts;
    const view = this.#view;
    this.#bytes.set(data, this.#data(i));
    view.setBigUint64(this.#iovec(i) + iovec.len.offset, BigInt(data.length), true);
    const name = encodeSockaddr(this.#sys.platform, to, this.#bytes.subarray(this.#name(i), this.#name(i) + NAME_SLOT));
    const header = i * this.#headerSize;
    view.setUint32(header + msghdr.namelen.offset, name.length, true);
    view.setUint32(header + msghdr.flags.offset, 0, true);
  }
}
