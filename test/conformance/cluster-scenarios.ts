// node:cluster (and so PM2's cluster mode): a primary started as a child
// of this process forks workers (cluster-child.ts) that listen in one group,
// and this process is their client. The primary holds a socket of its own
// at each worker's fd number, so a worker whose fd the primary served
// instead of the worker itself would answer on that socket.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { assertSpread } from "./_assert.ts";
import type { Context, Scenario } from "./_scenario.ts";
import { followReport, httpBody, spread } from "./_util.ts";
import type { ClusterReport, WorkerReport } from "./cluster-child.ts";

const childScript = new URL("./cluster-child.ts", import.meta.url).pathname;

/** Runs a primary with these workers and `run` against it once every worker listens. */
async function withCluster(
  ctx: Context,
  ids: readonly string[],
  run: (port: number, workers: readonly WorkerReport[]) => Promise<void>,
): Promise<void> {
  const [command, ...args] = ctx.host.command(childScript, ids) as [string, ...string[]];
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let followed: Awaited<ReturnType<typeof followReport<ClusterReport>>> | undefined;
  try {
    followed = await followReport<ClusterReport>(child);
    const { ok, port, workers, error } = followed.report;
    if (!ok || port === undefined || workers === undefined) assert.fail(`the cluster did not start: ${error}`);
    await run(port, workers);
  } finally {
    if (followed) await followed.stop();
    else child.kill("SIGKILL");
  }
}

/**
 * What a port answers to one HTTP request within half a second; undefined
 * for nothing. A slower answer is missed, but a worker that serves the
 * wrong socket leaves its own unserved, which the group's spread then finds.
 */
async function answerOf(port: number): Promise<string | undefined> {
  try {
    return await httpBody(port, "127.0.0.1", 500);
  } catch (error) {
    if ((error as Error).message.startsWith("no answer")) return undefined;
    throw error;
  }
}

/** Asserts that no primary's socket at a worker's fd number is served by anyone. */
async function assertDecoysUnserved(workers: readonly WorkerReport[]): Promise<void> {
  const answers = await Promise.all(workers.map(async (w) => [w.id, await answerOf(w.decoyPort)] as const));
  for (const [id, answer] of answers) {
    assert.equal(
      answer,
      undefined,
      `the primary's socket at worker ${id}'s fd number answered ${JSON.stringify(answer)}: the worker serves the primary's socket, not its own`,
    );
  }
}

/** Asserts that every worker listens on the group's port and answers its share of `total` connections. */
async function assertGroupServed(port: number, workers: readonly WorkerReport[], total: number): Promise<void> {
  for (const w of workers) assert.equal(w.port, port, `worker ${w.id} listens on ${w.port}, not the group's ${port}`);
  assertSpread(
    await spread(port, total),
    workers.map((w) => w.id),
    total,
    0,
  );
}

export const clusterScenarios: Scenario[] = [
  {
    name: "[cluster] listen() in node:cluster workers, one per engine: each serves its own socket in the group, never the primary's socket at its fd number",
    run: (ctx) =>
      withCluster(ctx, ["native", "accept4", "epoll", "default"], async (port, workers) => {
        await assertDecoysUnserved(workers);
        await assertGroupServed(port, workers, 100);
      }),
  },
  {
    name: "[cluster] the runtime's own server on openSocket() fds in node:cluster workers, as the README says (node:http fed by accept4; Bun.listen), serves the group; node:http's listen({ fd, exclusive: true }) serves the primary's socket at that fd number instead (Node, Deno)",
    run: (ctx) => {
      // Bun's node:http serves no fd at all (README, Troubleshooting); its cluster workers use Bun.listen.
      const exclusive = ctx.host.runtime === "bun" ? [] : ["exclusive"];
      return withCluster(ctx, ["own-server:a", "own-server:b", ...exclusive], async (port, workers) => {
        const group = workers.filter((w) => w.id !== "exclusive");
        await assertDecoysUnserved(group);
        await assertGroupServed(port, group, 60);
        for (const w of workers.filter((w) => w.id === "exclusive")) {
          assert.equal(
            await httpBody(w.decoyPort),
            "exclusive",
            "listen({ fd, exclusive: true }) serves the primary's socket",
          );
          assert.equal(
            await answerOf(w.port),
            undefined,
            "listen({ fd, exclusive: true }) leaves its own socket unserved",
          );
        }
      });
    },
  },
];
