import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { assertSpread, expectSocketError, withoutFdLeak } from "./_assert.ts";
import type { Scenario } from "./_scenario.ts";
import { connected, httpBody, spread, startChild } from "./_util.ts";

const NOBODY = 65534;

/** openSocket and the raw syscalls: one process, several, another user. */
export const socketScenarios: readonly Scenario[] = [
  {
    name: "listenOverflows(): connections turned away at a full accept queue raise the host's count",
    async run(ctx) {
      const before = ctx.lib.listenOverflows();
      assert.ok(before.overflows >= 0 && before.drops >= before.overflows, JSON.stringify(before));
      // Room for 2 (backlog + 1) and nobody accepting: the kernel turns the rest away and retries them later.
      const socket = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0, backlog: 1 });
      const clients = Array.from({ length: 8 }, () => {
        const client = connect(socket.localAddr.port, "127.0.0.1");
        client.on("error", () => {});
        return client;
      });
      try {
        let after = before;
        for (let i = 0; i < 50 && after.overflows === before.overflows; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          after = ctx.lib.listenOverflows();
        }
        assert.ok(after.overflows > before.overflows, `${JSON.stringify(before)} → ${JSON.stringify(after)}`);
        assert.ok(after.drops > before.drops);
        assert.equal((ctx.lib.socketStats(socket.fd) as { queued: number }).queued, 2);
      } finally {
        for (const client of clients) client.destroy();
        socket.close();
      }
    },
  },
  {
    name: "socketStats(): n connections waiting, then n − k after k accepts; the backlog asked for, capped by somaxconn",
    async run(ctx) {
      const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
      const socket = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0, backlog: 64 });
      const clients: Socket[] = [];
      try {
        assert.deepEqual(ctx.lib.socketStats(socket.fd), {
          transport: "tcp",
          queued: 0,
          backlog: Math.min(64, somaxconn),
        });
        for (let i = 0; i < 10; i++) {
          clients.push(await connected(socket.localAddr.port));
        }
        assert.equal((ctx.lib.socketStats(socket.fd) as { queued: number }).queued, 10);
        const sys = ctx.lib.sys();
        for (let k = 0; k < 4; k++) sys.close((ctx.lib.accept4(socket.fd) as { fd: number }).fd);
        assert.deepEqual(ctx.lib.socketStats(socket.fd), {
          transport: "tcp",
          queued: 6,
          backlog: Math.min(64, somaxconn),
        });
        const large = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0, backlog: somaxconn + 1000 });
        assert.equal(
          (ctx.lib.socketStats(large.fd) as { backlog: number }).backlog,
          somaxconn,
          "capped by net.core.somaxconn",
        );
        large.close();
        const tcp = sys.socket(sys.platform.constants.AF_INET, sys.platform.constants.SOCK_STREAM, 0);
        assert.throws(() => ctx.lib.socketStats(tcp), TypeError, "a TCP socket that does not listen");
        sys.close(tcp);
        assert.throws(() => ctx.lib.socketStats(-1), RangeError);
        expectSocketError(ctx, () => ctx.lib.socketStats(socket.fd + 1000), "EBADF");
      } finally {
        for (const client of clients) client.destroy();
        socket.close();
      }
    },
  },
  {
    name: "four TCP sockets share one port in one process",
    run(ctx) {
      withoutFdLeak(() => {
        const first = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
        const port = first.localAddr.port;
        assert.ok(port > 0);
        const others = [1, 2, 3].map(() => ctx.lib.openSocket({ hostname: "127.0.0.1", port }));
        const all = [first, ...others];
        assert.equal(new Set(all.map((s) => s.fd)).size, 4);
        for (const socket of all) {
          assert.deepEqual(socket.localAddr, { transport: "tcp", hostname: "127.0.0.1", port });
          assert.equal(socket.family, "IPv4");
          assert.equal(socket.transport, "tcp");
        }
        for (const socket of all) socket.close();
      });
    },
  },
  {
    name: "four UDP sockets share one port in one process",
    run(ctx) {
      withoutFdLeak(() => {
        const first = ctx.lib.openSocket({ transport: "udp", hostname: "127.0.0.1", port: 0 });
        const port = first.localAddr.port;
        const others = [1, 2, 3].map(() => ctx.lib.openSocket({ transport: "udp", hostname: "127.0.0.1", port }));
        for (const socket of [first, ...others]) {
          assert.deepEqual(socket.localAddr, { transport: "udp", hostname: "127.0.0.1", port });
          socket.close();
        }
      });
    },
  },
  {
    name: "port 0 then join: the kernel's port is read back and others bind it",
    run(ctx) {
      const first = ctx.lib.openSocket({ port: 0 });
      assert.equal(first.localAddr.hostname, "0.0.0.0");
      assert.ok(first.localAddr.port >= 1024 && first.localAddr.port <= 65535);
      const second = ctx.lib.openSocket({ port: first.localAddr.port });
      assert.equal(second.localAddr.port, first.localAddr.port);
      first.close();
      second.close();
    },
  },
  {
    name: "without reusePort the second bind fails with EADDRINUSE",
    run(ctx) {
      const holder = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const { port } = holder.localAddr;
      withoutFdLeak(() => {
        const error = expectSocketError(
          ctx,
          () => ctx.lib.openSocket({ hostname: "127.0.0.1", port, reusePort: false }),
          "EADDRINUSE",
          "reuseport-disabled",
        );
        assert.equal(error.syscall, "bind");
        assert.equal(error.address, "127.0.0.1");
        assert.equal(error.port, port);
        assert.match(error.message, /^bind EADDRINUSE 127\.0\.0\.1:\d+: .*reusePort/);
      });
      holder.close();
    },
  },
  {
    name: "a holder without reusePort keeps a reusePort socket out, and the error says so",
    run(ctx) {
      for (const transport of ["tcp", "udp"] as const) {
        const holder = ctx.lib.openSocket({ transport, hostname: "127.0.0.1", port: 0, reusePort: false });
        const { port } = holder.localAddr;
        withoutFdLeak(() => {
          expectSocketError(
            ctx,
            () => ctx.lib.openSocket({ transport, hostname: "127.0.0.1", port }),
            "EADDRINUSE",
            "not-reuseport",
          );
        });
        holder.close();
      }
    },
  },
  {
    name: "four processes share one port and the kernel spreads connections across them",
    async run(ctx) {
      const first = await startChild(ctx.host, ["0", "--serve", "p0"]);
      assert.ok(first.report.ok, first.report.error?.message);
      const port = first.report.port as number;
      const others = await Promise.all([1, 2, 3].map((i) => startChild(ctx.host, [String(port), "--serve", `p${i}`])));
      const children = [first, ...others];
      try {
        for (const child of others) assert.deepEqual(child.report, { ok: true, port });
        assertSpread(await spread(port, 400), ["p0", "p1", "p2", "p3"], 400);
      } finally {
        await Promise.all(children.map((child) => child.stop()));
      }
    },
  },
  {
    name: "a process of another user (uid 65534) cannot join root's group: EADDRINUSE names the EUID rule; port 80 gives EACCES",
    async run(ctx) {
      const group = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const euid = ctx.lib.sys().geteuid();
      assert.equal(euid, 0, "this scenario needs root, to start a process as another user");
      try {
        const stranger = await startChild(ctx.host, [String(group.localAddr.port)], NOBODY);
        await stranger.stop();
        assert.equal(stranger.report.ok, false, "uid 65534 joined root's group");
        assert.equal(stranger.report.error?.name, "SocketError");
        assert.equal(stranger.report.error?.code, "EADDRINUSE");
        assert.equal(stranger.report.error?.reason, "other-user", stranger.report.error?.message);
        assert.equal(stranger.report.error?.ownerUid, 0);
        assert.match(stranger.report.error?.message ?? "", /uid 0 .*uid 65534/);
        // The same user may not bind a privileged port either: EACCES, with the way out named.
        const privileged = await startChild(ctx.host, ["80"], NOBODY);
        await privileged.stop();
        assert.equal(privileged.report.error?.code, "EACCES", privileged.report.error?.message);
        assert.match(privileged.report.error?.message ?? "", /^bind EACCES 127\.0\.0\.1:80: .*CAP_NET_BIND_SERVICE/);
      } finally {
        group.close();
      }
    },
  },
  {
    name: "a process of the same user joins across processes without serving",
    async run(ctx) {
      const group = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      try {
        const peer = await startChild(ctx.host, [String(group.localAddr.port)]);
        await peer.stop();
        assert.deepEqual(peer.report, { ok: true, port: group.localAddr.port });
      } finally {
        group.close();
      }
    },
  },
  {
    name: "IPv6: a group on ::1 serves IPv6 clients",
    async run(ctx) {
      const sockets = [ctx.lib.openSocket({ hostname: "::1", port: 0 })];
      const { port } = sockets[0]?.localAddr ?? assert.fail();
      sockets.push(ctx.lib.openSocket({ hostname: "[::1]", port }));
      for (const socket of sockets) {
        assert.equal(socket.family, "IPv6");
        assert.deepEqual(socket.localAddr, { transport: "tcp", hostname: "::1", port });
      }
      const servers = await Promise.all(sockets.map((s, i) => ctx.host.serveFd(s.release(), `v6-${i}`)));
      try {
        assert.match(await httpBody(port, "::1"), /^v6-[01]$/);
      } finally {
        await Promise.all(servers.map((s) => s.close()));
      }
    },
  },
  {
    name: "dual-stack: :: accepts IPv4 clients unless ipv6Only",
    async run(ctx) {
      const dual = ctx.lib.openSocket({ hostname: "::", port: 0 });
      const { port } = dual.localAddr;
      // A v6-only socket and a 0.0.0.0 socket may share a port number: they are different groups.
      const only6 = ctx.lib.openSocket({ hostname: "::", port: 0, ipv6Only: true });
      const v4 = ctx.lib.openSocket({ hostname: "0.0.0.0", port: only6.localAddr.port, reusePort: false });
      // ...while a dual-stack socket already covers 0.0.0.0 on its port.
      expectSocketError(ctx, () => ctx.lib.openSocket({ hostname: "0.0.0.0", port, reusePort: false }), "EADDRINUSE");
      v4.close();
      const onlyServed = await ctx.host.serveFd(only6.release(), "only6");
      try {
        assert.equal(await httpBody(only6.localAddr.port, "::1"), "only6");
        await assert.rejects(httpBody(only6.localAddr.port, "127.0.0.1"), /ECONNREFUSED/);
      } finally {
        await onlyServed.close();
      }
      const served = await ctx.host.serveFd(dual.release(), "dual");
      try {
        assert.equal(await httpBody(port, "127.0.0.1"), "dual");
        assert.equal(await httpBody(port, "::1"), "dual");
      } finally {
        await served.close();
      }
    },
  },
  {
    name: "native servers on four reuseport fds in one process each get a share of 400 connections",
    async run(ctx) {
      const first = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const { port } = first.localAddr;
      const sockets = [first, ...[1, 2, 3].map(() => ctx.lib.openSocket({ hostname: "127.0.0.1", port }))];
      const servers = await Promise.all(sockets.map((s, i) => ctx.host.serveFd(s.release(), `s${i}`)));
      try {
        assertSpread(await spread(port, 400), ["s0", "s1", "s2", "s3"], 400);
      } finally {
        await Promise.all(servers.map((s) => s.close()));
      }
    },
  },
  {
    name: "every bad option throws TypeError or RangeError before any system call",
    run(ctx) {
      const cases: [unknown, ErrorConstructor, RegExp][] = [
        [undefined, TypeError, /options must be an object/],
        [{}, TypeError, /port must be a number/],
        [{ port: "80" }, TypeError, /port must be a number/],
        [{ port: -1 }, RangeError, /0 to 65535/],
        [{ port: 65536 }, RangeError, /0 to 65535/],
        [{ port: 1.5 }, RangeError, /0 to 65535/],
        [{ port: Number.NaN }, RangeError, /0 to 65535/],
        [{ port: 0, transport: "sctp" }, TypeError, /transport/],
        [{ port: 0, hostname: "example.com" }, TypeError, /IPv4 or IPv6 literal/],
        [{ port: 0, hostname: "256.0.0.1" }, TypeError, /IPv4 or IPv6 literal/],
        [{ port: 0, hostname: "1::2::3" }, TypeError, /IPv4 or IPv6 literal/],
        [{ port: 0, hostname: 127001 }, TypeError, /hostname must be a string/],
        [{ port: 0, backlog: 0 }, RangeError, /backlog/],
        [{ port: 0, backlog: -5 }, RangeError, /backlog/],
        [{ port: 0, backlog: 2.5 }, RangeError, /backlog/],
        [{ port: 0, backlog: "9" }, TypeError, /backlog/],
        [{ port: 0, transport: "udp", backlog: 10 }, TypeError, /TCP only/],
        [{ port: 0, reusePort: "yes" }, TypeError, /reusePort must be a boolean/],
        [{ port: 0, reuseAddr: 1 }, TypeError, /reuseAddr must be a boolean/],
        [{ port: 0, ipv6Only: true }, TypeError, /IPv6 addresses only/],
        [{ port: 0, reuseport: true }, TypeError, /unknown option "reuseport"/],
      ];
      withoutFdLeak(() => {
        for (const [options, type, message] of cases) {
          assert.throws(
            () => ctx.lib.openSocket(options as Parameters<typeof ctx.lib.openSocket>[0]),
            (error: unknown) => error instanceof type && message.test((error as Error).message),
            `options ${JSON.stringify(options)}`,
          );
        }
      });
    },
  },
  {
    name: "failed system calls leave no fd open and carry code, errno, syscall and address",
    run(ctx) {
      withoutFdLeak(() => {
        // 192.0.2.1 (TEST-NET-1) is not an address of this machine.
        const error = expectSocketError(
          ctx,
          () => ctx.lib.openSocket({ hostname: "192.0.2.1", port: 0 }),
          "EADDRNOTAVAIL",
        );
        assert.equal(error.errno, 99);
        assert.equal(error.syscall, "bind");
        assert.equal(error.address, "192.0.2.1");
        assert.equal(error.name, "SocketError");
        assert.ok(error instanceof Error);
        expectSocketError(ctx, () => ctx.lib.openSocket({ hostname: "2001:db8::1", port: 0 }), "EADDRNOTAVAIL");
        expectSocketError(
          ctx,
          () => ctx.lib.openSocket({ transport: "udp", hostname: "192.0.2.1", port: 0 }),
          "EADDRNOTAVAIL",
        );
      });
    },
  },
  {
    name: "fds are non-blocking and close-on-exec; close is idempotent and release hands the fd over",
    run(ctx) {
      const sys = ctx.lib.sys();
      const c = sys.platform.constants;
      withoutFdLeak(() => {
        for (const transport of ["tcp", "udp"] as const) {
          const socket = ctx.lib.openSocket({ transport, hostname: "127.0.0.1", port: 0 });
          assert.ok(sys.fcntl(socket.fd, c.F_GETFL, 0) & c.O_NONBLOCK, "O_NONBLOCK");
          assert.ok(sys.fcntl(socket.fd, c.F_GETFD, 0) & c.FD_CLOEXEC, "FD_CLOEXEC");
          socket.close();
          socket.close();
          assert.equal(socket.fd, -1);
        }
        const socket = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
        const fd = socket.release();
        assert.ok(fd >= 0);
        assert.equal(socket.fd, -1);
        socket.close(); // no longer ours: must not touch fd
        assert.ok(sys.fcntl(fd, c.F_GETFD, 0) >= 0, "released fd still open");
        assert.equal(sys.close(fd), 0);
      });
    },
  },
  {
    name: "errno is the failing call's own, read before anything else runs",
    run(ctx) {
      const sys = ctx.lib.sys();
      const names = sys.platform.errnoNames;
      const udp = ctx.lib.openSocket({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      // Alternate failures with different errnos and successes in between: each result must be its own.
      for (let i = 0; i < 1000; i++) {
        assert.equal(names[-sys.close(-1)], "EBADF");
        assert.equal(names[-sys.socket(12345, 1, 0)], "EAFNOSUPPORT");
        assert.ok(sys.geteuid() >= 0);
        assert.equal(names[-sys.listen(udp.fd, 1)], "ENOTSUP");
        assert.equal(names[-sys.open(new TextEncoder().encode("/nonexistent/reuseport\0"), 0)], "ENOENT");
      }
      const buffer = new Uint8Array(16);
      const fd = sys.open(new TextEncoder().encode("/proc/self/stat\0"), sys.platform.constants.O_CLOEXEC);
      assert.ok(fd >= 0);
      assert.equal(sys.read(fd, buffer, buffer.length), 16, "ssize_t result");
      assert.equal(sys.close(fd), 0);
      udp.close();
    },
  },
  {
    name: "raw syscalls: poll sees a pending connection, accept4 takes it, getpeername names the client",
    async run(ctx) {
      const sys = ctx.lib.sys();
      const { constants: c, layouts } = sys.platform;
      const listener = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const client = connect({ host: "127.0.0.1", port: listener.localAddr.port });
      await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
      const pollfd = new Uint8Array(layouts.pollfd.size);
      const view = new DataView(pollfd.buffer);
      view.setInt32(layouts.pollfd.fd.offset, listener.fd, true);
      view.setInt16(layouts.pollfd.events.offset, c.POLLIN, true);
      assert.equal(sys.poll(pollfd, 1, 5000), 1, "the listening fd should be readable");
      assert.ok(view.getInt16(layouts.pollfd.revents.offset, true) & c.POLLIN);
      const accept4 = sys.accept4 ?? assert.fail("accept4 is missing");
      const storage = new Uint8Array(layouts.sockaddrStorage);
      const length = new Uint8Array([128, 0, 0, 0]);
      const fd = accept4(listener.fd, storage, length, c.SOCK_NONBLOCK | c.SOCK_CLOEXEC);
      assert.ok(fd >= 0, `accept4 failed with errno ${-fd}`);
      assert.equal(new DataView(length.buffer).getUint32(0, true), layouts.sockaddrIn.size);
      assert.ok(sys.fcntl(fd, c.F_GETFL, 0) & c.O_NONBLOCK, "accepted fd O_NONBLOCK");
      assert.ok(sys.fcntl(fd, c.F_GETFD, 0) & c.FD_CLOEXEC, "accepted fd FD_CLOEXEC");
      const peer = new Uint8Array(layouts.sockaddrStorage);
      assert.equal(sys.getpeername(fd, peer, new Uint8Array([128, 0, 0, 0])), 0);
      for (const address of [storage, peer]) {
        const portOffset = layouts.sockaddrIn.port.offset;
        assert.equal(new DataView(address.buffer).getUint16(portOffset, false), client.localPort);
        assert.deepEqual([...address.subarray(4, 8)], [127, 0, 0, 1]);
      }
      // The queue is empty now: accept4 says EAGAIN instead of blocking.
      assert.equal(sys.platform.errnoNames[-accept4(listener.fd, null, null, c.SOCK_CLOEXEC)], "EAGAIN");
      assert.equal(sys.poll(pollfd, 1, 0), 0);
      assert.equal(sys.close(fd), 0);
      client.destroy();
      listener.close();
    },
  },
  {
    name: "accept4() with watchReadable(): woken per pending connection, drained until null; stop, start, close",
    async run(ctx) {
      const listener = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const port = listener.localAddr.port;
      const accepted: { fd: number; port: number }[] = [];
      let wakeUps = 0;
      let woken: () => void = () => {};
      const watch = ctx.lib.watchReadable(listener.fd, () => {
        wakeUps++;
        for (let next = ctx.lib.accept4(listener.fd); next !== null; next = ctx.lib.accept4(listener.fd)) {
          accepted.push({ fd: next.fd, port: next.remoteAddr.port });
        }
        woken();
      });
      const connectOne = () =>
        new Promise<ReturnType<typeof connect>>((resolve, reject) => {
          const socket = connect({ host: "127.0.0.1", port });
          socket.once("connect", () => resolve(socket)).once("error", reject);
        });
      const until = (count: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${accepted.length} of ${count} accepted`)), 5000);
          woken = () => {
            if (accepted.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          };
          woken();
        });
      const clients = await Promise.all([connectOne(), connectOne(), connectOne()]);
      await until(3);
      assert.deepEqual(accepted.map((a) => a.port).sort(), clients.map((c) => c.localPort).sort());
      assert.ok(wakeUps >= 1 && wakeUps <= 3, `${wakeUps} wake-ups`);
      // Stopped, a pending connection waits in the backlog; started again, it is taken.
      watch.stop();
      clients.push(await connectOne());
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(accepted.length, 3, "accepted while stopped");
      watch.start();
      await until(4);
      assert.equal(ctx.lib.accept4(listener.fd), null);
      watch.close();
      watch.close();
      const c = ctx.lib.sys().platform.constants;
      for (const { fd } of accepted) {
        assert.ok(ctx.lib.sys().fcntl(fd, c.F_GETFL, 0) & c.O_NONBLOCK, "accepted fds are non-blocking");
        ctx.lib.sys().close(fd);
      }
      for (const client of clients) client.destroy();
      listener.close();
      assert.throws(() => ctx.lib.watchReadable(-1, () => {}), RangeError);
      assert.throws(() => ctx.lib.accept4(listener.fd), ctx.lib.SocketError);
    },
  },
  {
    name: "options: localhost, bracketed IPv6, reuseAddr off, backlog, using-disposal",
    run(ctx) {
      const local = ctx.lib.openSocket({ hostname: "localhost", port: 0, reuseAddr: false, backlog: 1 });
      assert.equal(local.localAddr.hostname, "127.0.0.1");
      const sys = ctx.lib.sys();
      const c = sys.platform.constants;
      const int = new Uint8Array(4);
      const length = new Uint8Array([4, 0, 0, 0]);
      assert.equal(sys.getsockopt(local.fd, c.SOL_SOCKET, c.SO_REUSEADDR, int, length), 0);
      assert.equal(int[0], 0, "SO_REUSEADDR should be off");
      assert.equal(sys.getsockopt(local.fd, c.SOL_SOCKET, c.SO_REUSEPORT, int, length), 0);
      assert.equal(int[0], 1, "SO_REUSEPORT should be on");
      assert.equal(sys.getsockopt(local.fd, c.SOL_SOCKET, c.SO_ACCEPTCONN, int, length), 0);
      assert.equal(int[0], 1, "TCP socket should be listening");
      local[Symbol.dispose]();
      assert.equal(local.fd, -1);
      const v6 = ctx.lib.openSocket({ hostname: "[0:0:0:0:0:0:0:1]", port: 0, transport: "udp", ipv6Only: true });
      assert.equal(v6.localAddr.hostname, "::1");
      v6.close();
    },
  },
];
