import { describe, expect, test } from "vitest";
import { platformTable } from "../../src/ffi/platforms.ts";

describe("platform tables", () => {
  test("Linux: the generic socket ABI values", () => {
    for (const arch of ["x64", "arm64"]) {
      const { constants: c, reusePortOption, balancesGroup, errnoNames } = platformTable("linux", arch);
      expect([c.AF_INET, c.AF_INET6, c.SOL_SOCKET, c.SO_REUSEADDR, c.SO_REUSEPORT, c.IPV6_V6ONLY]).toEqual([
        2, 10, 1, 2, 15, 26,
      ]);
      expect([c.SOCK_NONBLOCK, c.SOCK_CLOEXEC, c.O_NONBLOCK, c.O_CLOEXEC]).toEqual([0x800, 0x80000, 0x800, 0x80000]);
      expect(reusePortOption).toBe(15);
      expect(balancesGroup).toBe(true);
      expect([errnoNames[11], errnoNames[98], errnoNames[99], errnoNames[103], errnoNames[24]]).toEqual([
        "EAGAIN",
        "EADDRINUSE",
        "EADDRNOTAVAIL",
        "ECONNABORTED",
        "EMFILE",
      ]);
    }
  });

  test("the supervisor's values: AF_UNIX and sockaddr_un (notify sockets), SO_RCVTIMEO and timeval", () => {
    const linux = platformTable("linux", "x64");
    expect([linux.constants.AF_UNIX, linux.constants.SO_RCVTIMEO]).toEqual([1, 20]);
    expect(linux.layouts.sockaddrUn).toEqual({
      size: 110,
      family: { offset: 0, size: 2 },
      path: { offset: 2, size: 108 },
    });
    expect(linux.layouts.timeval).toEqual({ size: 16, sec: { offset: 0, size: 8 }, usec: { offset: 8, size: 8 } });
    for (const os of ["darwin", "freebsd"]) {
      const bsd = platformTable(os, "arm64");
      expect([bsd.constants.AF_UNIX, bsd.constants.SO_RCVTIMEO]).toEqual([1, 0x1006]);
      expect(bsd.layouts.sockaddrUn.len).toEqual({ offset: 0, size: 1 });
      expect(bsd.layouts.sockaddrUn.path).toEqual({ offset: 2, size: 104 });
    }
  });

  test("epoll_event is packed on x86_64 only", () => {
    expect(platformTable("linux", "x64").layouts.epollEvent).toEqual({
      size: 12,
      events: { offset: 0, size: 4 },
      data: { offset: 4, size: 8 },
    });
    expect(platformTable("linux", "arm64").layouts.epollEvent?.data.offset).toBe(8);
    expect(platformTable("linux", "arm64").layouts.epollEvent?.size).toBe(16);
  });

  test("epoll engine values (sys/epoll.h, bits/socket.h, netinet/tcp.h); none on macOS or FreeBSD", () => {
    for (const arch of ["x64", "arm64"]) {
      const e = platformTable("linux", arch).constants.epoll;
      expect(e).toEqual({
        EPOLL_CLOEXEC: 0x80000,
        EPOLL_CTL_ADD: 1,
        EPOLL_CTL_DEL: 2,
        EPOLLIN: 0x1,
        EPOLLOUT: 0x4,
        EPOLLERR: 0x8,
        EPOLLHUP: 0x10,
        EPOLLRDHUP: 0x2000,
        EPOLLET: 0x80000000,
        MSG_NOSIGNAL: 0x4000,
        SO_KEEPALIVE: 9,
        TCP_KEEPIDLE: 4,
      });
    }
    expect(platformTable("darwin", "arm64").constants.epoll).toBeUndefined();
    expect(platformTable("freebsd", "x64").constants.epoll).toBeUndefined();
  });

  test("msghdr and mmsghdr: 56/64 bytes on Linux, 48/56 on FreeBSD, no mmsghdr on macOS", () => {
    for (const arch of ["x64", "arm64"]) {
      const { layouts, constants } = platformTable("linux", arch);
      expect([layouts.msghdr.size, layouts.msghdr.iov.offset, layouts.msghdr.flags.offset]).toEqual([56, 16, 48]);
      expect(layouts.mmsghdr).toEqual({ size: 64, len: { offset: 56, size: 4 } });
      expect(layouts.iovec.size).toBe(16);
      expect(constants.MSG_TRUNC).toBe(0x20);
    }
    const freebsd = platformTable("freebsd", "x64");
    expect([freebsd.layouts.msghdr.size, freebsd.layouts.msghdr.flags.offset]).toEqual([48, 44]);
    expect(freebsd.layouts.mmsghdr).toEqual({ size: 56, len: { offset: 48, size: 8 } });
    expect(freebsd.constants.MSG_TRUNC).toBe(0x10);
    expect(platformTable("darwin", "arm64").layouts.mmsghdr).toBeUndefined();
  });

  test("libc: glibc first, then musl's loader-provided libc", () => {
    expect(platformTable("linux", "x64").libc).toEqual(["libc.so.6", "libc.musl-x86_64.so.1"]);
    expect(platformTable("linux", "arm64").libc).toEqual(["libc.so.6", "libc.musl-aarch64.so.1"]);
    expect(platformTable("freebsd", "x64").libc).toEqual(["libc.so.7"]);
  });

  test("macOS: SOL_SOCKET 0xffff, SO_REUSEPORT 0x200, no balancing, no accept4, errno via __error", () => {
    const t = platformTable("darwin", "arm64");
    expect([t.constants.SOL_SOCKET, t.constants.SO_REUSEPORT, t.reusePortOption]).toEqual([0xffff, 0x200, 0x200]);
    expect([t.balancesGroup, t.hasAccept4, t.errnoSymbol]).toEqual([false, false, "__error"]);
    expect([t.constants.SOCK_NONBLOCK, t.constants.SOCK_CLOEXEC]).toEqual([0, 0]);
    expect([t.errnoNames[35], t.errnoNames[48]]).toEqual(["EAGAIN", "EADDRINUSE"]);
  });

  test("FreeBSD: groups balance through SO_REUSEPORT_LB", () => {
    const t = platformTable("freebsd", "x64");
    expect([t.constants.SO_REUSEPORT, t.constants.SO_REUSEPORT_LB, t.reusePortOption]).toEqual([
      0x200, 0x10000, 0x10000,
    ]);
    expect(t.balancesGroup).toBe(true);
    expect(t.hasAccept4).toBe(true);
  });

  test.each([
    ["win32", "x64", /operating system/],
    ["linux", "mips", /architecture/],
    ["linux", "ia32", /architecture/],
    ["__proto__", "x64", /operating system/],
  ])("%s/%s is refused clearly", (os, arch, message) => {
    expect(() => platformTable(os, arch)).toThrow(message);
  });
});
