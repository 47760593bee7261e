// The workers' preload under `reuseport run`, as an unchanged app meets it:
// every way node:http and node:net are asked to listen on the served port
// serves the supervisor's socket; a listen on that port with another host
// fails the worker and says why; one on another port is let through and
// told; workers get PORT; --no-preload leaves the app to fend for itself;
// and a Deno worker serves under each way its permissions may be given.
// Each supervisor runs on the workers' runtime (its own CLI entry), with
// one worker, on a port the kernel picks (-p 0) unless the test needs to
// know it beforehand. The apps in test/apps/ import nothing of reuseport.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import http2 from "node:http2";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { WORKER_VARIABLES } from "../src/supervisor/_command.ts";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import { alive, type Watched, watch } from "./_watched.ts";

const entries: Record<RuntimeId, string> = {
  node20: "src/cli/node.ts",
  node26: "src/cli/node.ts",
  bun: "src/cli/bun.ts",
  deno: "cli.ts",
};
/** Node 20 runs the .ts preload (and nothing else) through tsx's loader. */
const workerFlags: Record<RuntimeId, string[]> = {
  node20: ["--runtime-args", "--import tsx"],
  node26: [],
  bun: [],
  deno: [],
};
const listenForms = join(root, "test/apps/listen-forms.mjs");
const printPort = join(root, "test/apps/print-port.mjs");
const express = join(root, "test/apps/express.mjs");

/** A private runtime directory, so these supervisors never meet another one. */
const runtimeDir = mkdtempSync(join(tmpdir(), "reuseport-preload-"));
afterAll(() => rmSync(runtimeDir, { recursive: true, force: true }));
const baseEnv: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtimeDir, NO_COLOR: "1" };
delete baseEnv.PORT;

let runs = 0;

interface Supervised {
  readonly watched: Watched;
  /** The served port, from the supervisor's "serving tcp host:port" line. */
  readonly port: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `reuseport run <args>` on `id`, runs `body`, then stops the
 * supervisor with SIGTERM and checks that it said "stopped:" and that
 * neither it nor any worker it named is left running.
 */
async function supervise(
  id: RuntimeId,
  args: readonly string[],
  body: (run: Supervised) => Promise<void>,
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<void> {
  const name = `preload-${id}-${++runs}`;
  const [command, ...rest] = runtimes[id].argv(join(root, entries[id]), ["run", "--name", name, ...args]) as [
    string,
    ...string[],
  ];
  const watched = watch(
    spawn(command, rest, {
      cwd: options.cwd ?? root,
      env: { ...baseEnv, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let failure: unknown;
  try {
    const [, port] = await watched.waitFor(/: serving tcp \S+:(\d+)[, ]/);
    await body({ watched, port: Number(port) });
  } catch (error) {
    failure = error;
  }
  const leftovers = await stop(watched);
  if (failure !== undefined) throw failure;
  expect(watched.output()).toMatch(/^reuseport: stopped: /m);
  expect(leftovers, `processes left running after the supervisor stopped:\n${watched.output()}`).toEqual([]);
}

/** SIGTERM, then SIGKILL if it has not stopped in 15 s; the pids still running once it has (killed). */
async function stop(watched: Watched): Promise<number[]> {
  const { child } = watched;
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  const stopped = await Promise.race([watched.exited.then(() => true), sleep(15_000).then(() => false)]);
  if (!stopped) {
    child.kill("SIGKILL");
    await watched.exited;
  }
  const pids = [child.pid, ...[...watched.output().matchAll(/slot \d+ pid (\d+) gen/g)].map((m) => Number(m[1]))];
  const deadline = Date.now() + 5_000;
  while (pids.some((pid) => pid !== undefined && alive(pid)) && Date.now() < deadline) await sleep(50);
  const left = pids.filter((pid): pid is number => pid !== undefined && alive(pid));
  for (const pid of left) process.kill(pid, "SIGKILL");
  if (!stopped) left.unshift(-1);
  return [...new Set(left)];
}

/** A GET on a fresh connection (none kept alive to slow a worker's drain): status and body. */
function get(port: number, host = "127.0.0.1"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/", agent: false, headers: { connection: "close" }, timeout: 5_000 });
    req.on("response", (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET on port ${port} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** A port nothing listens on at the moment (the kernel's pick for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()));
    });
  });
}

/** The worker is ready and answers a GET on `port` with its pid. */
async function expectServes(run: Supervised, port = run.port): Promise<number> {
  const [, pid] = await run.watched.waitFor(/slot 0 pid (\d+) gen 1: ready in \d+ ms/);
  const answer = await get(port);
  expect(answer).toEqual({ status: 200, body: pid });
  return Number(pid);
}

/** The address the app's 'listening' handler printed. */
async function listened(watched: Watched): Promise<unknown> {
  const [, json] = await watched.waitFor(/^\[0\] listening (\{.*\})$/m);
  return JSON.parse(json as string);
}

const forms: readonly { title: string; form: string; host?: string; callback: boolean }[] = [
  { title: "listen(PORT)", form: "port", callback: false },
  { title: "listen(String(PORT))", form: "string", callback: false },
  { title: 'listen(PORT, "0.0.0.0", callback)', form: "ipv4-any", callback: true },
  { title: 'listen(PORT, "::", callback) takes the 0.0.0.0 socket', form: "ipv6-any", callback: true },
  { title: "listen(PORT, 511, callback)", form: "backlog", callback: true },
  { title: 'listen({ port: PORT, host: "0.0.0.0", backlog: 100 }, callback)', form: "options", callback: true },
  { title: "listen({ port: PORT })", form: "options-port", callback: false },
  { title: '-H 127.0.0.1 and listen(PORT, "127.0.0.1", callback)', form: "host", host: "127.0.0.1", callback: true },
  { title: '-H 127.0.0.1 and listen(PORT, "localhost", callback)', form: "host", host: "localhost", callback: true },
  { title: "net.createServer().listen(PORT)", form: "net", callback: false },
];

describe.each(["node20", "node26", "deno"] as const)("the preload on %s", (id) => {
  test.each(forms)("$title serves the supervisor's socket", async ({ form, host, callback }) => {
    const served = host === undefined ? [] : ["-H", "127.0.0.1"];
    const appArgs = host === undefined ? [form] : [form, host];
    await supervise(id, ["-w", "1", "-p", "0", ...served, ...workerFlags[id], listenForms, ...appArgs], async (run) => {
      expect(await listened(run.watched)).toEqual({
        address: host === undefined ? "0.0.0.0" : "127.0.0.1",
        family: "IPv4",
        port: run.port,
      });
      await expectServes(run);
      if (callback) await run.watched.waitFor(/^\[0\] callback$/m);
      expect(run.watched.output()).not.toMatch(/EADDRINUSE|ERR_INHERITED_SOCKET|does not serve/);
    });
  });

  test("http2.createServer().listen(PORT) (h2c) serves the supervisor's socket", async () => {
    await supervise(id, ["-w", "1", "-p", "0", ...workerFlags[id], listenForms, "http2"], async (run) => {
      expect(await listened(run.watched)).toEqual({ address: "0.0.0.0", family: "IPv4", port: run.port });
      const [, pid] = await run.watched.waitFor(/slot 0 pid (\d+) gen 1: ready in \d+ ms/);
      const session = http2.connect(`http://127.0.0.1:${run.port}`);
      try {
        const body = await new Promise<string>((resolve, reject) => {
          const stream = session.request({ ":path": "/" });
          let text = "";
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) => {
            text += chunk;
          });
          stream.on("end", () => resolve(text));
          stream.on("error", reject);
        });
        expect(body).toBe(pid);
      } finally {
        session.close();
      }
    });
  });

  test("the served port with another host fails the worker, saying what the supervisor serves", async () => {
    await supervise(
      id,
      ["-w", "1", "-p", "0", "-H", "127.0.0.1", ...workerFlags[id], listenForms, "host", "::1"],
      async (run) => {
        const { watched, port } = run;
        const message = `the app listens on [::1]:${port}, but the supervisor serves tcp 127.0.0.1:${port}`;
        // The supervisor's own log line, from the worker's STATUS=, and the app's 'error' event.
        await watched.waitFor(new RegExp(`^reuseport: slot 0 pid \\d+ gen 1: ${literal(message)}: .*--host ::1$`, "m"));
        await watched.waitFor(new RegExp(`^\\[0\\] error ERR_INHERITED_SOCKET: .*${literal(message)}`, "m"));
        await watched.waitFor(
          new RegExp(
            `slot 0 pid \\d+ gen 1: exited with code 1 \\(unexpected, before it was ready\\): ${literal(message)}`,
          ),
        );
        expect(watched.output()).not.toMatch(/: ready in \d+ ms/);
        expect(watched.output()).not.toMatch(/^\[0\] listening/m);
      },
    );
  });

  test("a listen on a port the supervisor does not serve is let through and told; the worker is not ready", async () => {
    const elsewhere = await freePort();
    await supervise(
      id,
      // A Deno app needs --allow-net of its own to listen on a port of its own.
      [
        ...["-w", "1", "-p", "0", "--ready-timeout", "2"],
        ...(id === "deno" ? ["--runtime-args", "--allow-net"] : workerFlags[id]),
        ...[listenForms, "elsewhere", String(elsewhere)],
      ],
      async ({ watched, port }) => {
        await watched.waitFor(
          new RegExp(
            `^reuseport: slot 0 pid \\d+ gen 1: the app listens on port ${elsewhere}, which the supervisor does not serve \\(it serves tcp 0\\.0\\.0\\.0:${port}\\)`,
            "m",
          ),
        );
        // Let through: the app serves a port of its own.
        expect(await listened(watched)).toMatchObject({ port: elsewhere });
        const answer = await get(elsewhere);
        expect(answer.status).toBe(200);
        // From this worker, or the next one should a slow machine have let the ready timeout strike first.
        const workers = [...watched.output().matchAll(/slot 0 pid (\d+) gen 1: started/g)].map((m) => m[1]);
        expect(workers).toContain(answer.body);
        await watched.waitFor(/slot 0 pid \d+ gen 1: not ready after 2000 ms/, 10_000);
        expect(watched.output()).not.toMatch(/: ready in \d+ ms/);
      },
    );
  });

  test("workers get PORT, the first --port", async () => {
    const first = await freePort();
    let second = await freePort();
    while (second === first) second = await freePort();
    await supervise(
      id,
      [
        "-w",
        "1",
        "-p",
        String(first),
        "-p",
        String(second),
        ...workerFlags[id],
        printPort,
        String(first),
        String(second),
      ],
      async (run) => {
        await run.watched.waitFor(new RegExp(`^\\[0\\] PORT=${first}$`, "m"));
        await expectServes(run, first);
        expect((await get(second)).status).toBe(200);
      },
    );
  });

  test("a PORT the supervisor's environment sets is kept", async () => {
    const port = await freePort();
    await supervise(
      id,
      ["-w", "1", "-p", String(port), ...workerFlags[id], printPort, String(port)],
      async (run) => {
        await run.watched.waitFor(/^\[0\] PORT=1234$/m);
        await expectServes(run);
      },
      { env: { PORT: "1234" } },
    );
  });
});

test("on Bun, node:http cannot serve the supervisor's socket: the worker fails with an error that says so", async () => {
  await supervise("bun", ["-w", "1", "-p", "0", listenForms, "port"], async ({ watched, port }) => {
    await watched.waitFor(
      new RegExp(
        `Bun's node:http and node:net cannot serve the supervisor's tcp 0\\.0\\.0\\.0:${port}: .*--runtime node`,
      ),
    );
    // Told in the supervisor's own log, and again in the exit line, for an app that swallows the error.
    await watched.waitFor(/^reuseport: slot 0 pid \d+ gen 1: Bun's node:http and node:net cannot serve/m);
    await watched.waitFor(
      /slot 0 pid \d+ gen 1: exited with code 1 \(unexpected, before it was ready\): Bun's node:http and node:net cannot serve/,
    );
    expect(watched.output()).not.toMatch(/: ready in \d+ ms|^\[0\] listening/m);
  });
});

test("on Bun without --self-bind, Bun.serve cannot serve the supervisor's socket: the worker fails saying to use --self-bind", async () => {
  const app = join(root, "test/apps/bun-default.ts");
  await supervise("bun", ["-w", "1", "-p", "0", app], async ({ watched, port }) => {
    await watched.waitFor(
      new RegExp(
        `slot 0 pid \\d+ gen 1: exited with code 1 \\(unexpected, before it was ready\\): Bun\\.serve cannot serve the supervisor's tcp 0\\.0\\.0\\.0:${port}: .*--self-bind`,
      ),
    );
    expect(watched.output()).not.toMatch(/: ready in \d+ ms/);
  });
});

describe("Express 5 on node26", () => {
  test("with --no-preload its own listen gets EADDRINUSE and it exits 0, never ready", async () => {
    await supervise(
      "node26",
      ["-w", "1", "-p", "0", "--no-preload", "--ready-timeout", "3", express],
      async ({ watched }) => {
        await watched.waitFor(/^\[0\] express: listen EADDRINUSE/m);
        await watched.waitFor(/slot 0 pid \d+ gen 1: exited with code 0 \(unexpected, before it was ready\)/);
        expect(watched.output()).not.toMatch(/: ready in \d+ ms/);
      },
    );
  });

  test("with the preload it is ready and serves", async () => {
    await supervise("node26", ["-w", "1", "-p", "0", "--ready-timeout", "3", express], async ({ watched, port }) => {
      const [, pid] = await watched.waitFor(/slot 0 pid (\d+) gen 1: ready in \d+ ms/);
      expect(await get(port)).toEqual({ status: 200, body: `0-1-${pid}` });
      expect(watched.output()).not.toMatch(/EADDRINUSE/);
    });
  });
});

/** The worker's argv, as the kernel has it. */
function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
}

/** The permission flags among a Deno worker's argv. */
function permissions(args: readonly string[]): string[] {
  return args.filter((a) => /^(-A|-P|--allow-.*|--permission-set.*)$/.test(a));
}

const variables = WORKER_VARIABLES.join(",");

describe("a Deno worker serves with each way of giving its permissions", () => {
  // The app reads no variable but PORT, so the narrowest --allow-env serves it too.
  const cases: readonly { title: string; flags: string; argv: (args: string[]) => void }[] = [
    {
      title: "-A: nothing added",
      flags: "-A",
      argv: (args) => expect(permissions(args)).toEqual(["-A"]),
    },
    {
      title: "--allow-all: nothing added",
      flags: "--allow-all",
      argv: (args) => expect(permissions(args)).toEqual(["--allow-all"]),
    },
    {
      title: "bare --allow-env: FFI added, no env list",
      flags: "--allow-env",
      argv: (args) => expect(permissions(args)).toEqual(["--allow-ffi", "--allow-env"]),
    },
    {
      title: "--allow-env=HOME: the library's variables joined to the list",
      flags: "--allow-env=HOME",
      argv: (args) => expect(permissions(args)).toEqual(["--allow-ffi", `--allow-env=HOME,${variables}`]),
    },
    {
      title: "--allow-ffi=<a library of the app's>: libc joined to the list by its absolute path",
      flags: "--allow-ffi=./native/addon.so",
      argv: (args) => {
        const [env, ffi, ...rest] = permissions(args);
        expect(env).toBe(`--allow-env=${variables}`);
        expect(ffi).toMatch(/^--allow-ffi=\.\/native\/addon\.so,\/\S+\/libc\.so\.6$/);
        expect(rest).toEqual([]);
      },
    },
    {
      title: "no runtime args: FFI and the library's variables",
      flags: "",
      argv: (args) => expect(permissions(args)).toEqual(["--allow-ffi", `--allow-env=${variables}`]),
    },
  ];

  test.each(cases)("$title", async ({ flags, argv }) => {
    await supervise("deno", ["-w", "1", "-p", "0", "--runtime-args", flags, listenForms, "port"], async (run) => {
      const pid = await expectServes(run);
      const args = cmdline(pid);
      expect(args.slice(-2)).toEqual([listenForms, "port"]);
      argv(args);
    });
  });

  /** A directory whose deno.json grants env, FFI and read as its default permission set. */
  function permissionSet(): string {
    const dir = mkdtempSync(join(tmpdir(), "reuseport-deno-permissions-"));
    writeFileSync(
      join(dir, "deno.json"),
      JSON.stringify({ permissions: { default: { env: true, ffi: true, read: true } } }),
    );
    return dir;
  }

  test("-P, the app beside a deno.json with a permission set, the supervisor started there", async () => {
    const dir = permissionSet();
    try {
      const app = join(dir, "listen-forms.mjs");
      copyFileSync(listenForms, app);
      await supervise(
        "deno",
        ["-w", "1", "-p", "0", "--runtime-args", "-P", app, "port"],
        async (run) => {
          const pid = await expectServes(run);
          expect(permissions(cmdline(pid))).toEqual(["-P"]);
        },
        { cwd: dir },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("-P --config <deno.json with a permission set>", async () => {
    const dir = permissionSet();
    try {
      const config = join(dir, "deno.json");
      await supervise(
        "deno",
        ["-w", "1", "-p", "0", "--runtime-args", `-P --config ${config}`, listenForms, "port"],
        (run) => expectServes(run).then(() => undefined),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Deno looks for deno.json from the main module's directory up, not from
  // its working directory: the app in the repository gets the repository's
  // deno.json, which has no permission set, and -P grants nothing.
  test("-P with the deno.json only in the working directory: Deno does not read it, the worker fails with Deno's error", async () => {
    const dir = permissionSet();
    try {
      await supervise(
        "deno",
        ["-w", "1", "-p", "0", "--runtime-args", "-P", listenForms, "port"],
        async ({ watched }) => {
          await watched.waitFor(
            /^\[0\] error: Uncaught \(in promise\) NotCapable: Requires env access to "(LISTEN|REUSEPORT)_\w+", run again with the --allow-env flag$/m,
          );
          await watched.waitFor(/slot 0 pid \d+ gen 1: exited with code 1 \(unexpected, before it was ready\)/);
          expect(watched.output()).not.toMatch(/: ready in \d+ ms/);
        },
        { cwd: dir },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** `text` matched literally in a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
