// SO_ATTACH_REUSEPORT_CBPF through steer(): which member of a group gets a
// connection, counted with socketStats() on members that accept nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import type { RawSocket } from "../../src/node.ts";
import type { Context, Scenario } from "./_scenario.ts";

const clientScript = new URL("./connect-client.ts", import.meta.url).pathname;

/** Connects `count` times from a process pinned to `cpu` (taskset), so its SYNs are handled on that CPU. */
export function connectFrom(ctx: Context, cpu: number, port: number, count: number): void {
  const [command, ...args] = [
    "taskset",
    "-c",
    String(cpu),
    ...ctx.host.command(clientScript, [String(port), String(count)]),
  ];
  const run = spawnSync(command as string, args, { encoding: "utf8", timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
}

/** A group of `size` TCP listeners that accept nothing, on one port. */
function group(ctx: Context, size: number): RawSocket[] {
  const first = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
  return [
    first,
    ...Array.from({ length: size - 1 }, () =>
      ctx.lib.openSocket({ hostname: "127.0.0.1", port: first.localAddr.port }),
    ),
  ];
}

const queued = (ctx: Context, sockets: readonly RawSocket[]): number[] =>
  sockets.map((s) => (ctx.lib.socketStats(s.fd) as { queued: number }).queued);

export const steeringScenarios: readonly Scenario[] = [
  {
    name: 'steer "cpu": connections handled on CPU i land on socket i',
    run(ctx) {
      const cpus = Math.min(2, availableParallelism());
      const sockets = group(ctx, cpus);
      try {
        ctx.lib.steer(sockets[0]?.fd as number, "cpu", cpus);
        const port = sockets[0]?.localAddr.port as number;
        const expected = sockets.map(() => 0);
        for (let cpu = 0; cpu < cpus; cpu++) {
          connectFrom(ctx, cpu, port, 10);
          expected[cpu] = 10;
          assert.deepEqual(queued(ctx, sockets), expected, `after 10 connections from CPU ${cpu}`);
        }
      } finally {
        for (const socket of sockets) socket.close();
      }
    },
  },
  {
    name: 'steer a program: a constant sends everything there, an index past the group falls back to the hash, "hash" detaches',
    run(ctx) {
      const sockets = group(ctx, 2);
      const port = sockets[0]?.localAddr.port as number;
      try {
        // Attached through the second member: a program serves the whole group.
        ctx.lib.steer(sockets[1]?.fd as number, { program: [ctx.lib.cbpf.ret(1)] });
        connectFrom(ctx, 0, port, 20);
        assert.deepEqual(queued(ctx, sockets), [0, 20]);
        ctx.lib.steer(sockets[0]?.fd as number, { program: [ctx.lib.cbpf.ret(5)] });
        connectFrom(ctx, 0, port, 40);
        const [a = 0, b = 0] = queued(ctx, sockets);
        assert.ok(a > 0 && b > 20 && a + b === 60, `an index past the end falls back to the hash: ${a}, ${b}`);
        ctx.lib.steer(sockets[0]?.fd as number, "hash");
        ctx.lib.steer(sockets[0]?.fd as number, "hash");
        connectFrom(ctx, 0, port, 40);
        const [c = 0, d = 0] = queued(ctx, sockets);
        assert.ok(c > a && d > b, `the hash again after "hash": ${c}, ${d}`);
      } finally {
        for (const socket of sockets) socket.close();
      }
    },
  },
  {
    name: "steer refuses a malformed program, naming the instruction, and bad policies, before any system call",
    run(ctx) {
      const { cbpf, CbpfProgramError } = ctx.lib;
      const socket = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      try {
        const refused = (program: unknown[], index: number, pattern: RegExp) => {
          assert.throws(
            () => ctx.lib.steer(socket.fd, { program } as never),
            (error: unknown) =>
              error instanceof CbpfProgramError && error.index === index && pattern.test(error.message),
          );
        };
        refused([], -1, /1 to 4096 instructions/);
        refused([cbpf.load("cpu")], 0, /end with a return/);
        refused([cbpf.jump("jeq", 1, 3, 0), cbpf.ret(0)], 0, /past the end/);
        refused([cbpf.load("cpu"), cbpf.alu("mod", 0), cbpf.retA()], 1, /division by zero/);
        refused([cbpf.load("cpu"), { code: 0x16, jt: 0, jf: 0, k: -1 }], 1, /k must be an integer/);
        refused([{ code: 0xfff, jt: 0, jf: 0, k: 0 }, cbpf.ret(0)], 0, /unknown/);
        assert.throws(() => ctx.lib.steer(socket.fd, "cpu"), RangeError);
        assert.throws(() => ctx.lib.steer(socket.fd, "round-robin" as never), TypeError);
        assert.throws(() => ctx.lib.steer(-1, "hash"), RangeError);
        // A socket outside any group: the kernel's refusal is a SocketError.
        const alone = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0, reusePort: false });
        assert.throws(() => ctx.lib.steer(alone.fd, "cpu", 2), ctx.lib.SocketError);
        alone.close();
      } finally {
        socket.close();
      }
    },
  },
];
