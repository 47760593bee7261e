import type { Sys } from "../ffi/sys.ts";
import { errnoName } from "./errors.ts";

const MAX_TABLE_BYTES = 8 << 20;

/**
 * Reads a whole /proc file through libc, so it needs no runtime file
 * permission (Deno's --allow-read) beyond the FFI the library already uses.
 */
export function readProcFile(sys: Sys, path: string): string | undefined {
  const { O_RDONLY, O_CLOEXEC } = sys.platform.constants;
  const fd = sys.open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return undefined;
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const chunk = new Uint8Array(64 * 1024);
    while (total < MAX_TABLE_BYTES) {
      const n = sys.read(fd, chunk, chunk.length);
      if (n < 0 && errnoName(sys, -n) === "EINTR") continue;
      if (n <= 0) break;
      chunks.push(chunk.slice(0, n));
      total += n;
    }
    const all = new Uint8Array(total);
    let offset = 0;
    for (const piece of chunks) {
      all.set(piece, offset);
      offset += piece.length;
    }
    return new TextDecoder().decode(all);
  } finally {
    sys.close(fd);
  }
}

/** The inode of the socket behind `fd` ("socket:[inode]" in /proc/self/fd), or undefined for anything else. */
export function socketInode(sys: Sys, fd: number): string | undefined {
  const target = new Uint8Array(64);
  const n = sys.readlink(new TextEncoder().encode(`/proc/self/fd/${fd}\0`), target, target.length);
  if (n <= 0) return undefined;
  return /^socket:\[(\d+)\]$/.exec(new TextDecoder().decode(target.subarray(0, n)))?.[1];
}

/** The names in a directory (/proc/<pid>/fd), read with getdents64; undefined when it cannot be read. */
export function listProcDir(sys: Sys, path: string): string[] | undefined {
  const getdents = sys.getdents64;
  if (getdents === undefined) return undefined;
  const { O_RDONLY, O_CLOEXEC } = sys.platform.constants;
  const fd = sys.open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return undefined;
  const names: string[] = [];
  const buffer = new Uint8Array(32 * 1024);
  const view = new DataView(buffer.buffer);
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const n = getdents(fd, buffer, buffer.length);
      if (n < 0 && errnoName(sys, -n) === "EINTR") continue;
      if (n < 0) return undefined;
      if (n === 0) return names;
      // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, then the NUL-terminated name.
      for (let at = 0; at < n; ) {
        const length = view.getUint16(at + 16, sys.platform.littleEndian);
        const end = buffer.indexOf(0, at + 19);
        const name = decoder.decode(buffer.subarray(at + 19, end === -1 ? at + length : Math.min(end, at + length)));
        if (name !== "." && name !== "..") names.push(name);
        at += length;
      }
    }
  } finally {
    sys.close(fd);
  }
}
