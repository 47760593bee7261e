import type { ArchName, PlatformTable } from "../_platform.ts";
import { bsdConstants, bsdErrnoNames, bsdLayouts } from "./_bsd.ts";

/**
 * macOS. SO_REUSEPORT lets several sockets bind one port but the kernel does
 * not balance between them: the most recent socket gets the traffic. The
 * library reports this through `balancesGroup: false` instead of pretending.
 * There is no accept4 and no SOCK_NONBLOCK/SOCK_CLOEXEC: fcntl sets the flags.
 */
export function darwinTable(arch: ArchName): PlatformTable {
  return {
    os: "darwin",
    arch,
    libc: ["/usr/lib/libSystem.B.dylib"],
    errnoSymbol: "__error",
    hasAccept4: false,
    reusePortOption: bsdConstants.SO_REUSEPORT,
    balancesGroup: false,
    littleEndian: true,
    constants: {
      ...bsdConstants,
      AF_INET6: 30,
      SOCK_NONBLOCK: 0,
      SOCK_CLOEXEC: 0,
      SO_REUSEPORT_LB: 0,
      O_CLOEXEC: 0x1000000,
    },
    layouts: bsdLayouts,
    errnoNames: { ...bsdErrnoNames, 45: "ENOTSUP", 102: "EOPNOTSUPP" },
  };
}
