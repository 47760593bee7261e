// A worker of `reuseport run` ends with its supervisor. test/cli.test.ts
// kills a real supervisor with SIGKILL and sees its workers end; here, on
// each runtime, the two cases a supervisor's death cannot be told by the
// kernel: the supervisor was dead before the worker said it was ready
// (the worker ends at once), and the named supervisor lives but is not the
// worker's parent (an app a shell started): the worker keeps running.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { root, runtimes } from "./_runtimes.ts";
import { alive, watch } from "./_watched.ts";

const app = join(root, "test/supervisor/app.ts");

/** The test app serving its own socket with the runtime's server, saying ready itself, as a worker of `supervisorPid`. */
function worker(id: keyof typeof runtimes, supervisorPid: number): ChildProcess {
  const [command, ...args] = runtimes[id].argv(app, ["0", "--serve-fd"]) as [string, ...string[]];
  return spawn(command, args, {
    env: { ...process.env, REUSEPORT_SUPERVISOR_PID: String(supervisorPid) },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

describe.each(["node20", "node26", "bun", "deno"] as const)("a worker and its supervisor on %s", (id) => {
  test("a supervisor already dead when the worker is ready: the worker ends at once (SIGTERM)", async () => {
    const gone = spawnSync("true");
    expect(gone.pid).toBeGreaterThan(1);
    const child = watch(worker(id, gone.pid as number));
    const code = await Promise.race([
      child.exited,
      new Promise((resolve) => setTimeout(() => resolve("running"), 15_000)),
    ]);
    if (code === "running") child.child.kill("SIGKILL");
    // The app's SIGTERM handler drains and exits 0.
    expect(code, child.output()).toBe(0);
  }, 30_000);

  test("a supervisor that lives but is not the parent: the worker keeps running", async () => {
    const other = spawn("sleep", ["30"]);
    const child = watch(worker(id, other.pid as number));
    try {
      // notifyReady() looks for the supervisor before it returns, and the app prints "ready" after it.
      await child.waitFor(/^ready$/m);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(alive(child.child.pid as number), child.output()).toBe(true);
    } finally {
      child.child.kill("SIGKILL");
      other.kill("SIGKILL");
    }
  }, 30_000);
});
