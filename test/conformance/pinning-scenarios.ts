// CPU pinning: setAffinity() over every thread, SO_INCOMING_CPU, and the
// supervisor's pin option, read back from /proc as the kernel reports it.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import process from "node:process";
import type { Sys } from "../../src/node.ts";
import { loadClientScript, startLoadClient } from "../load/_spawn.ts";
import { expectSocketError } from "./_assert.ts";
import type { Context, Scenario } from "./_scenario.ts";
import { fdsOpenedSince, openFds, tcpSocketsLeft } from "./_util.ts";
import { connectFrom } from "./steering-scenarios.ts";
import { describeFailures, opened, socketsAndPipes, start, stopCleanly } from "./supervisor-scenarios.ts";

/** "0-2,5" (a Cpus_allowed_list or a sysfs CPU list) → [0, 1, 2, 5]. */
function cpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(",")) {
    const [from, to = from] = part.split("-").map(Number) as [number, number?];
    for (let cpu = from; cpu <= (to as number); cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** Every thread of process `pid` with the CPUs it may run on, by tid (a thread that ends meanwhile is left out). */
function threadCpus(pid: number | "self"): Map<string, string> {
  const threads = new Map<string, string>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
      const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1];
      if (list !== undefined) threads.set(tid, cpuList(list).join(","));
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
  }
  return threads;
}

/** Asserts that every thread of `pid` may run on exactly `cpus`, and that there is more than one thread. */
function assertAllThreadsOn(pid: number | "self", cpus: readonly number[], what: string): void {
  const threads = threadCpus(pid);
  assert.ok(threads.size > 1, `${what}: a runtime runs several threads, found ${threads.size}`);
  const off = [...threads].filter(([, list]) => list !== cpus.join(","));
  assert.deepEqual(off, [], `${what}: every thread on CPU ${cpus.join(",")} (${threads.size} threads)`);
}

/** The CPUs this host has (sysfs `possible`), and one it does not, when a cpu_set_t can still name it. */
function hostCpus(): { cpus: number[]; absent: number | undefined } {
  const cpus = cpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8"));
  const next = Math.max(...cpus) + 1;
  return { cpus, absent: next < 1024 ? next : undefined };
}

/** Counts the calls `sys.<name>` gets while `body` runs: the real call, only counted. */
function countingCalls(sys: Sys, name: "schedSetaffinity" | "setsockopt" | "getsockopt", body: () => void): number {
  const real = sys[name] as (...args: unknown[]) => number;
  let calls = 0;
  (sys as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
    calls++;
    return real(...args);
  };
  try {
    body();
  } finally {
    (sys as unknown as Record<string, unknown>)[name] = real;
  }
  return calls;
}

/** The kernel's release is at least `major.minor`. */
function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

/** The next connection on a listening fd, waiting for it to arrive. */
async function acceptOne(ctx: Context, fd: number): Promise<number> {
  for (let i = 0; i < 250; i++) {
    const accepted = ctx.lib.accept4(fd);
    if (accepted !== null) return accepted.fd;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no connection arrived on fd ${fd}`);
}

function scenario(name: string, run: (context: Context) => Promise<void> | void): Scenario {
  return { name: `pinning: ${name}`, run };
}

export const pinningScenarios: readonly Scenario[] = [
  scenario(
    "setAffinity([0]) pins every thread of the process, getAffinity() says [0], and the old mask comes back",
    (ctx) => {
      const original = ctx.lib.getAffinity();
      assert.deepEqual(original, cpuList([...threadCpus("self").values()][0] ?? ""), "getAffinity() is /proc's list");
      try {
        ctx.lib.setAffinity([0]);
        assert.deepEqual(ctx.lib.getAffinity(), [0]);
        assertAllThreadsOn("self", [0], "after setAffinity([0])");
      } finally {
        ctx.lib.setAffinity(original);
      }
      assertAllThreadsOn("self", original, "after setting the original mask again");
      assert.deepEqual(ctx.lib.getAffinity(), original);
    },
  ),

  scenario("setAffinity refuses bad lists before any system call; the kernel's refusal is a SocketError", (ctx) => {
    const sys = ctx.lib.sys();
    const original = ctx.lib.getAffinity();
    const bad: [unknown, typeof TypeError | typeof RangeError][] = [
      [undefined, TypeError],
      ["0", TypeError],
      [[], RangeError],
      [["0"], TypeError],
      [[-1], RangeError],
      [[1.5], RangeError],
      [[1024], RangeError],
      [[0, 0], RangeError],
    ];
    const calls = countingCalls(sys, "schedSetaffinity", () => {
      for (const [cpus, type] of bad) {
        assert.throws(() => ctx.lib.setAffinity(cpus as number[]), type, `setAffinity(${JSON.stringify(cpus)})`);
      }
    });
    assert.equal(calls, 0, "no sched_setaffinity for a bad list");
    // The counting itself works: a good list makes calls.
    assert.ok(countingCalls(sys, "schedSetaffinity", () => ctx.lib.setAffinity(original)) > 1);
    const { absent } = hostCpus();
    if (absent !== undefined) {
      const alone = expectSocketError(ctx, () => ctx.lib.setAffinity([absent]), "EINVAL");
      assert.equal(alone.syscall, "sched_setaffinity");
      // One CPU the host has and one it lacks: refused whole, not narrowed to the first.
      expectSocketError(ctx, () => ctx.lib.setAffinity([0, absent]), "EINVAL");
    }
    assert.deepEqual(ctx.lib.getAffinity(), original, "the mask is unchanged");
    assertAllThreadsOn("self", original, "after the refusals");
  }),

  scenario("SO_INCOMING_CPU: -1 on a new listener until set, read back as set; bad arguments refused", (ctx) => {
    const before = openFds();
    const socket = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
    const fd = socket.fd;
    try {
      assert.equal(ctx.lib.getIncomingCpu(socket.fd), -1);
      for (const cpu of [0, Math.min(1, availableParallelism() - 1)]) {
        ctx.lib.setIncomingCpu(socket.fd, cpu);
        assert.equal(ctx.lib.getIncomingCpu(socket.fd), cpu);
      }
      const calls = countingCalls(ctx.lib.sys(), "setsockopt", () => {
        for (const [fd, cpu] of [
          [socket.fd, -1],
          [socket.fd, 1.5],
          [-1, 0],
          [socket.fd, Number.NaN],
        ] as const) {
          assert.throws(() => ctx.lib.setIncomingCpu(fd, cpu), RangeError, `setIncomingCpu(${fd}, ${cpu})`);
        }
      });
      assert.equal(calls, 0, "no setsockopt for bad arguments");
      assert.throws(() => ctx.lib.getIncomingCpu(-1), RangeError);
    } finally {
      socket.close();
    }
    // Closed a moment ago, and nothing ran since that could have reused the number.
    expectSocketError(ctx, () => ctx.lib.getIncomingCpu(fd), "EBADF");
    assert.deepEqual(fdsOpenedSince(before), [], "no fd left open");
  }),

  scenario("SO_INCOMING_CPU of an accepted connection is the CPU its client ran on", async (ctx) => {
    const before = openFds();
    const cpus = Math.min(2, availableParallelism());
    const { cpus: host } = hostCpus();
    const socket = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      for (let cpu = 0; cpu < cpus; cpu++) {
        connectFrom(ctx, cpu, socket.localAddr.port, 1);
        const fd = await acceptOne(ctx, socket.fd);
        try {
          const incoming = ctx.lib.getIncomingCpu(fd);
          assert.ok(host.includes(incoming), `a CPU of this host (${host}), got ${incoming}`);
          // Loopback hands a packet to the receiving socket on the CPU that sent it.
          assert.equal(incoming, cpu, `a client pinned to CPU ${cpu}`);
        } finally {
          ctx.lib.sys().close(fd);
        }
      }
    } finally {
      socket.close();
    }
    // TCP sockets only: the runtime may keep what it opened for spawnSync (Bun: an epoll set, an eventfd, a socket).
    assert.deepEqual(await tcpSocketsLeft(before, 0), [], "no TCP socket left open");
  }),

  scenario("SO_INCOMING_CPU in a group: connections received on CPU i go to the member set to i", (ctx) => {
    const cpus = Math.min(2, availableParallelism());
    // From 4.6 to 6.1 the group's hash decided regardless (fixed in 6.2).
    if (cpus < 2 || !kernelAtLeast(6, 2)) return;
    const first = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
    const second = ctx.lib.openSocket({ hostname: "127.0.0.1", port: first.localAddr.port });
    const sockets = [first, second];
    try {
      // In reverse, so that the answer cannot be the members' order in the group.
      ctx.lib.setIncomingCpu(first.fd, 1);
      ctx.lib.setIncomingCpu(second.fd, 0);
      const queued = (): number[] => sockets.map((s) => (ctx.lib.socketStats(s.fd) as { queued: number }).queued);
      connectFrom(ctx, 0, first.localAddr.port, 10);
      assert.deepEqual(queued(), [0, 10], "10 connections from CPU 0");
      connectFrom(ctx, 1, first.localAddr.port, 10);
      assert.deepEqual(queued(), [10, 10], "then 10 from CPU 1");
    } finally {
      for (const socket of sockets) socket.close();
    }
  }),

  scenario(
    "supervisor with pin: every thread of worker i on CPU i mod n, after a reload, a kill -9 and a scale too; the supervisor's mask untouched",
    async (context) => {
      const fdsBefore = socketsAndPipes();
      const own = context.lib.getAffinity();
      const { supervisor, events } = await start(context, [], { pin: true });
      const check = (when: string): void => {
        const workers = supervisor.workers();
        assert.equal(workers.length, supervisor.slots, `${when}: a worker per slot ${JSON.stringify(workers)}`);
        for (const worker of workers) {
          const cpu = own[worker.slot % own.length] as number;
          assert.equal(worker.cpu, cpu, `${when}: workers() names slot ${worker.slot}'s CPU`);
          assertAllThreadsOn(worker.pid, [cpu], `${when}: slot ${worker.slot} pid ${worker.pid}`);
        }
        assertAllThreadsOn("self", own, `${when}: the supervisor's own threads`);
      };
      check("started");
      const reloaded = await supervisor.reload();
      assert.ok(reloaded.ok, reloaded.reason);
      check("reloaded");
      const victim = supervisor.workers().find((w) => w.slot === 1);
      assert.ok(victim !== undefined, "slot 1 has a worker");
      process.kill(victim.pid, "SIGKILL");
      const deadline = Date.now() + 20_000;
      while (!supervisor.workers().some((w) => w.slot === 1 && w.pid !== victim.pid && w.state === "ready")) {
        assert.ok(Date.now() < deadline, "slot 1 was restarted and became ready");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(
        events.some((e) => e.type === "restarting" && e.slot === 1),
        "slot 1 restarted",
      );
      check("restarted");
      await supervisor.scale(3);
      check("scaled to 3");
      await stopCleanly(supervisor);
      assert.deepEqual(opened(fdsBefore, socketsAndPipes()), [], "every socket and pipe of the supervisor is closed");
    },
  ),

  scenario(
    'supervisor with pin and steer: "cpu": a client on CPU c is served by the worker pinned to CPU c',
    async (context) => {
      const cpus = Math.min(2, availableParallelism());
      const own = context.lib.getAffinity();
      assert.deepEqual(own.slice(0, cpus), [...Array(cpus).keys()], "the supervisor may run on CPUs 0 to n-1");
      const { supervisor, port } = await start(context, [], { workers: cpus, steer: "cpu", pin: true });
      for (let cpu = 0; cpu < cpus; cpu++) {
        const command = ["taskset", "-c", String(cpu), ...context.host.command(loadClientScript, [])];
        const result = await startLoadClient(command, { port, concurrency: 2, maxRequests: 20 }).done;
        assert.equal(result.failed, 0, describeFailures(result));
        // Bodies are "slot-generation-pid".
        const pids = [...new Set(Object.keys(result.bodies).map((body) => Number(body.split("-")[2])))];
        assert.equal(pids.length, 1, `one worker served CPU ${cpu}: ${pids}`);
        const worker = supervisor.workers().find((w) => w.pid === pids[0]);
        assert.equal(worker?.cpu, cpu, `the worker that served CPU ${cpu} is pinned to it: ${JSON.stringify(worker)}`);
        assertAllThreadsOn(pids[0] as number, [cpu], `the worker serving CPU ${cpu}`);
      }
      await stopCleanly(supervisor);
    },
  ),
];
