// One supervisor, workers of every runtime in turn: reloads that change the
// runtime (Node 20 → Bun → Deno → Node 26) under connection-per-request load
// lose no request, and each generation is served by the runtime it names.
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { supervise, type WorkerCommand } from "../src/node.ts";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import { loadClientScript, startLoadClient } from "./load/_spawn.ts";

const app = join(root, "test/supervisor/app.ts");

/** How a reload names each runtime's workers: the kind, the executable and the flags the test app needs. */
function workersOn(id: RuntimeId): Partial<WorkerCommand> {
  const [executable, ...flags] = runtimes[id].argv(app);
  const runtime = id === "bun" ? "bun" : id === "deno" ? "deno" : "node";
  // What argv puts before the script: tsx's loader for Node 20; Deno's own run flags are the supervisor's to set.
  const runtimeArgs = id === "node20" ? flags.slice(0, flags.indexOf(app)) : id === "deno" ? ["--allow-read"] : [];
  return { runtime, executable, runtimeArgs };
}

test("reloads from Node 20 to Bun to Deno to Node 26 under load fail no request", async () => {
  const order: RuntimeId[] = ["node20", "bun", "deno", "node26"];
  const supervisor = supervise({
    app,
    args: ["inherited"],
    ...workersOn("node20"),
    workers: 2,
    listen: [{ hostname: "127.0.0.1", port: 0 }],
    graceMs: 10_000,
    onOutput: () => {},
  });
  try {
    await supervisor.ready;
    const port = supervisor.addresses[0]?.port ?? 0;
    const client = startLoadClient(runtimes.node26.argv(loadClientScript), {
      port,
      concurrency: 8,
      durationMs: 60_000,
    });
    await client.started;
    for (const id of order.slice(1)) {
      const command = workersOn(id);
      const result = await supervisor.reload(command);
      expect(result.ok, result.reason).toBe(true);
      for (const worker of supervisor.workers()) {
        expect(worker.runtime).toBe(command.runtime);
        // The process itself is that runtime's binary.
        expect(readlinkSync(`/proc/${worker.pid}/exe`)).toMatch(new RegExp(`${command.runtime}[^/]*$`));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await client.stop();
    expect(result.failed, JSON.stringify(result.errors)).toBe(0);
    const generations = new Set(Object.keys(result.bodies).map((b) => Number(b.split("-")[1])));
    expect([...generations].sort()).toEqual([1, 2, 3, 4]);
    console.log(`runtime-changing reloads: ${result.ok} requests, ${result.failed} failed`);
  } finally {
    expect(await supervisor.stop()).toBe(true);
  }
}, 120_000);
