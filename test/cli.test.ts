// The `reuseport` command as a user runs it, on each runtime: run, status,
// reload, scale and stop over its control socket, signals, and who may
// talk to it.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseRun, UsageError } from "../src/cli/_args.ts";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import { alive, type Watched, watch } from "./_watched.ts";

const app = join(root, "test/supervisor/app.ts");
const entries: Record<RuntimeId, string> = {
  node20: "src/cli/node.ts",
  node26: "src/cli/node.ts",
  bun: "src/cli/bun.ts",
  deno: "cli.ts",
};
/** What the test app needs on each runtime beyond what reuseport gives a worker. */
const appFlags: Record<RuntimeId, string> = {
  node20: "--import tsx",
  node26: "",
  bun: "",
  deno: "--allow-read",
};

/** A private runtime directory per test run, so runs never meet another supervisor. */
const runtimeDir = mkdtempSync(join(tmpdir(), "reuseport-cli-"));
afterAll(() => rmSync(runtimeDir, { recursive: true, force: true }));
const env = { ...process.env, XDG_RUNTIME_DIR: runtimeDir };

function cli(id: RuntimeId, args: readonly string[]): string[] {
  return runtimes[id].argv(join(root, entries[id]), args);
}

function runSync(id: RuntimeId, args: readonly string[], extraEnv: Record<string, string> = {}) {
  const [command, ...rest] = cli(id, args) as [string, ...string[]];
  return spawnSync(command, rest, { env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 30_000 });
}

function start(id: RuntimeId, args: readonly string[]): Watched {
  const [command, ...rest] = cli(id, args) as [string, ...string[]];
  return watch(spawn(command, rest, { env, stdio: ["ignore", "pipe", "pipe"] }));
}

describe.each(["node20", "node26", "bun", "deno"] as const)("reuseport on %s", (id) => {
  test("run --help documents every option", () => {
    const result = runSync(id, ["run", "--help"]);
    expect(result.status, result.stderr).toBe(0);
    for (const option of [
      "--workers",
      "--port",
      "--host",
      "--udp-port",
      "--runtime",
      "--runtime-args",
      "--grace",
      "--ready-timeout",
      "--self-bind",
      "--pin",
      "--metrics",
      "tcp_migrate_req",
      "--tcp-migrate-req",
      "--no-preload",
    ]) {
      expect(result.stdout).toContain(option);
    }
  });

  test("a usage error exits 2 and says what is wrong", () => {
    const result = runSync(id, ["run", "--workers", "zero", app]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--workers takes a whole number");
    expect(runSync(id, ["run", app]).stderr).toContain("no address to serve");
    const metrics = runSync(id, ["run", "-p", "0", "--metrics", "localhost", app]);
    expect(metrics.status).toBe(2);
    expect(metrics.stderr).toContain(
      '--metrics takes [host:]port[/path] (e.g. 9100, 0.0.0.0:9100/metrics), got "localhost"',
    );
  });

  test("run, status, reload, scale, SIGHUP, SIGTTIN and stop", async () => {
    const name = `cli-${id}`;
    const running = start(id, [
      "run",
      "--workers",
      "2",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--grace",
      "5",
      "--name",
      name,
      "--metrics",
      "0/scrape",
      "--runtime-args",
      appFlags[id],
      "--",
      app,
      "inherited",
    ]);
    try {
      const [, metricsPort] = await running.waitFor(/metrics at http:\/\/127\.0\.0\.1:(\d+)\/scrape\n/);
      await running.waitFor(/slot 1 pid \d+ gen 1: ready/);
      expect(running.output()).toMatch(/serving tcp 127\.0\.0\.1:\d+ with 2 workers/);
      const status = runSync(id, ["status", name]);
      expect(status.status, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/generation 1, 2 workers/);
      // Each slot's accept queue, as ss -lt shows it: nothing waiting, the default backlog (capped by somaxconn).
      expect(status.stdout).toMatch(/^0\s+\d+\s+1\s+\w+\s+ready\s+\S+\s+0\s+0\/\d+$/m);
      const json = JSON.parse(runSync(id, ["status", name, "--json"]).stdout) as {
        workers: { sockets: { addr: { port: number }; queued: number; backlog: number }[] }[];
      };
      expect(json.workers).toHaveLength(2);
      for (const worker of json.workers) {
        expect(worker.sockets).toHaveLength(1);
        expect(worker.sockets[0]?.queued).toBe(0);
        expect(worker.sockets[0]?.backlog).toBeGreaterThan(0);
      }
      // The same in Prometheus's text format: every line a comment or a sample, a queue per slot.
      const prometheus = runSync(id, ["status", name, "--prometheus"]);
      expect(prometheus.status, prometheus.stderr).toBe(0);
      for (const line of prometheus.stdout.trimEnd().split("\n")) {
        expect(line).toMatch(/^(# (HELP|TYPE) reuseport_\w+ .+|reuseport_\w+\{(\w+="[^"]*",?)+\} -?\d+(\.\d+)?)$/);
      }
      for (const slot of [0, 1]) {
        expect(prometheus.stdout).toMatch(
          new RegExp(
            `^reuseport_socket_queued\\{name="${name}",slot="${slot}",address="tcp 127\\.0\\.0\\.1:\\d+"\\} 0$`,
            "m",
          ),
        );
      }
      expect(prometheus.stdout).toMatch(/^# TYPE reuseport_slot_restarts_total counter$/m);
      // The supervisor serves the same series itself, at the path asked for (values such as uptimes move).
      const scraped = await fetch(`http://127.0.0.1:${metricsPort}/scrape`);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const series = (text: string): string[] =>
        text
          .trimEnd()
          .split("\n")
          .map((line) => line.replace(/ \S+$/, ""));
      expect(series(await scraped.text())).toEqual(series(prometheus.stdout));
      expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(404);
      expect(runSync(id, ["reload", name, "--prometheus"]).status).toBe(2);
      const reload = runSync(id, ["reload", name]);
      expect(reload.stdout).toContain("reloaded: generation 2");
      expect(runSync(id, ["scale", "3", name]).status).toBe(0);
      expect(runSync(id, ["status", name]).stdout).toMatch(/generation 2, 3 workers/);
      running.child.kill("SIGHUP");
      await running.waitFor(/reloaded: generation 3 serving/);
      running.child.kill("SIGTTOU");
      await running.waitFor(/scaled from 3 to 2 workers/);
      running.child.kill("SIGTTIN");
      await running.waitFor(/scaled from 2 to 3 workers/);
      expect(runSync(id, ["stop", name]).status).toBe(0);
      expect(await running.exited).toBe(0);
      expect(running.output()).toContain("stopped: every worker stopped cleanly");
      // Nothing is left to answer.
      expect(runSync(id, ["status", name]).status).toBe(1);
      await expect(fetch(`http://127.0.0.1:${metricsPort}/scrape`)).rejects.toThrow();
    } finally {
      running.child.kill("SIGKILL");
    }
  }, 90_000);

  test("workers end when the supervisor is killed with SIGKILL (no orphans left serving its port)", async () => {
    const running = start(id, [
      "run",
      "-w",
      "2",
      "-p",
      "0",
      "-H",
      "127.0.0.1",
      "--name",
      `cli-orphans-${id}`,
      "--runtime-args",
      appFlags[id],
      "--",
      app,
      "inherited",
    ]);
    let pids: number[] = [];
    try {
      const [, first] = await running.waitFor(/slot 0 pid (\d+) gen 1: ready/);
      const [, second] = await running.waitFor(/slot 1 pid (\d+) gen 1: ready/);
      pids = [Number(first), Number(second)];
      for (const pid of pids) expect(alive(pid), `worker ${pid} before`).toBe(true);
    } finally {
      running.child.kill("SIGKILL");
    }
    await running.exited;
    // The kernel sends each worker SIGTERM as its parent dies; each drains (nothing is open) and exits.
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const pid of pids) {
      if (alive(pid)) process.kill(pid, "SIGKILL");
      expect(alive(pid), `worker ${pid} still running 10 s after its supervisor was killed`).toBe(false);
    }
  }, 60_000);

  test("run --pin: status shows each worker's CPU, where the kernel has its every thread", async () => {
    const name = `cli-pin-${id}`;
    const running = start(id, [
      "run",
      "-w",
      "2",
      "-p",
      "0",
      "-H",
      "127.0.0.1",
      "--pin",
      "--name",
      name,
      "--runtime-args",
      appFlags[id],
      "--",
      app,
      "inherited",
    ]);
    try {
      await running.waitFor(/slot 0 pid \d+ gen 1: ready/);
      await running.waitFor(/slot 1 pid \d+ gen 1: ready/);
      // The CPUs this test may run on are the supervisor's: slot i gets the (i mod n)th.
      const own = cpuList(readFileSync("/proc/self/status", "utf8"));
      const json = JSON.parse(runSync(id, ["status", name, "--json"]).stdout) as {
        workers: { slot: number; pid: number; cpu: number }[];
      };
      expect(json.workers).toHaveLength(2);
      for (const worker of json.workers) {
        const cpu = own[worker.slot % own.length];
        expect(worker.cpu).toBe(cpu);
        const threads = readdirSync(`/proc/${worker.pid}/task`);
        expect(threads.length).toBeGreaterThan(1);
        for (const tid of threads) {
          expect(cpuList(readFileSync(`/proc/${worker.pid}/task/${tid}/status`, "utf8"))).toEqual([cpu]);
        }
      }
      const table = runSync(id, ["status", name]).stdout;
      expect(table).toMatch(/^slot\s+pid\s+gen\s+runtime\s+state\s+uptime\s+restarts\s+cpu\s+queue$/m);
      expect(table).toMatch(
        new RegExp(`^1\\s+\\d+\\s+1\\s+\\w+\\s+ready\\s+\\S+\\s+0\\s+${own[1 % own.length]}\\s+0/\\d+$`, "m"),
      );
      expect(runSync(id, ["stop", name]).status).toBe(0);
      expect(await running.exited).toBe(0);
    } finally {
      running.child.kill("SIGKILL");
    }
  }, 60_000);
});

/** The Cpus_allowed_list of a /proc status file, as CPU numbers ("0-1,3" → [0, 1, 3]). */
function cpuList(status: string): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? "";
  return list.split(",").flatMap((part) => {
    const [from = 0, to = from] = part.split("-").map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}
describe("run --metrics", () => {
  test("takes [host:]port[/path], hosts and paths defaulted by supervise()", () => {
    const metrics = (value: string) => parseRun(["-p", "0", "--metrics", value, "app.ts"]).options.metrics;
    expect(metrics("9100")).toEqual({ port: 9100 });
    expect(metrics("0.0.0.0:9100")).toEqual({ hostname: "0.0.0.0", port: 9100 });
    expect(metrics("localhost:0/scrape")).toEqual({ hostname: "localhost", port: 0, path: "/scrape" });
    expect(metrics("[::1]:9100/a/b")).toEqual({ hostname: "::1", port: 9100, path: "/a/b" });
    expect(metrics("9100/")).toEqual({ port: 9100, path: "/" });
    expect(parseRun(["-p", "0", "app.ts"]).options.metrics).toBeUndefined();
  });

  test("a value that is not [host:]port[/path] is a usage error", () => {
    for (const bad of ["", "localhost", "::1:9100", "[::1]9100", "9100:", "host:port", "70000", "9100metrics", "-1"]) {
      expect(() => parseRun(["-p", "0", `--metrics=${bad}`, "app.ts"]), bad).toThrow(UsageError);
    }
    expect(() => parseRun(["-p", "0", "--metrics", "70000", "app.ts"])).toThrow(
      /--metrics takes a port from 0 to 65535/,
    );
  });
});

describe("the control socket", () => {
  test("lives in a 0700 directory, is 0600, and another user cannot use it", async () => {
    const name = "cli-private";
    const running = start("node26", ["run", "-w", "1", "-p", "0", "-H", "127.0.0.1", "--name", name, app, "inherited"]);
    try {
      await running.waitFor(/gen 1: ready/);
      const dir = join(runtimeDir, "reuseport");
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, `${name}.sock`)).mode & 0o777).toBe(0o600);
      // uid 65534 (nobody) asks to stop it: refused by the directory's mode.
      const [command, ...rest] = cli("node26", ["stop", name]) as [string, ...string[]];
      const other = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", command, ...rest], {
        env,
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(other.status).not.toBe(0);
      expect(other.stderr + other.stdout).toMatch(/EACCES|not a directory of this user|permission/i);
      // Still running and still ours to stop.
      expect(runSync("node26", ["status", name]).status).toBe(0);
      running.child.kill("SIGTERM");
      expect(await running.exited).toBe(0);
    } finally {
      running.child.kill("SIGKILL");
    }
  }, 60_000);

  test("a runtime directory owned by another user is refused", () => {
    const foreign = mkdtempSync(join(tmpdir(), "reuseport-foreign-"));
    mkdirSync(join(foreign, "reuseport"));
    execFileSync("chown", ["65534:65534", join(foreign, "reuseport")]);
    const result = runSync("node26", ["status", "anything"], { XDG_RUNTIME_DIR: foreign });
    rmSync(foreign, { recursive: true, force: true });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("not a directory of this user");
  });
});
