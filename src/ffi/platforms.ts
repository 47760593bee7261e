import type { ArchName, OsName, PlatformTable } from "./_platform.ts";
import { darwinTable } from "./platforms/darwin.ts";
import { freebsdTable } from "./platforms/freebsd.ts";
import { linuxTable } from "./platforms/linux.ts";

export type { ArchName, OsName, PlatformTable } from "./_platform.ts";

const tables: Record<OsName, (arch: ArchName) => PlatformTable> = {
  linux: linuxTable,
  darwin: darwinTable,
  freebsd: freebsdTable,
};

/**
 * The table for an OS and CPU as Node names them (`process.platform`,
 * `process.arch`). Anything else is refused with a clear error rather than
 * guessed: socket constants differ on mips, sparc, parisc and alpha.
 */
export function platformTable(os: string, arch: string): PlatformTable {
  const make = Object.hasOwn(tables, os) ? tables[os as OsName] : undefined;
  if (make === undefined) {
    throw new Error(`reuseport does not support the ${os} operating system (supported: linux, darwin, freebsd)`);
  }
  if (arch !== "x64" && arch !== "arm64") {
    throw new Error(`reuseport does not support the ${arch} architecture on ${os} (supported: x64, arm64)`);
  }
  return make(arch);
}
