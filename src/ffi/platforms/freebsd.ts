import type { ArchName, PlatformTable } from "../_platform.ts";
import { bsdConstants, bsdErrnoNames, bsdLayouts } from "./_bsd.ts";

/**
 * FreeBSD 12 and later. Plain SO_REUSEPORT shares a port without balancing;
 * SO_REUSEPORT_LB forms a balancing group like Linux's, so that is the option
 * the library sets for `reusePort`.
 */
export function freebsdTable(arch: ArchName): PlatformTable {
  return {
    os: "freebsd",
    arch,
    libc: ["libc.so.7"],
    errnoSymbol: "__error",
    hasAccept4: true,
    reusePortOption: 0x10000,
    balancesGroup: true,
    littleEndian: true,
    constants: {
      ...bsdConstants,
      AF_INET6: 28,
      SOCK_NONBLOCK: 0x20000000,
      SOCK_CLOEXEC: 0x10000000,
      SO_REUSEPORT_LB: 0x10000,
      O_CLOEXEC: 0x100000,
    },
    // FreeBSD's mmsghdr ends in an ssize_t msg_len.
    layouts: { ...bsdLayouts, mmsghdr: { size: 56, len: { offset: 48, size: 8 } } },
    errnoNames: bsdErrnoNames,
  };
}
