// The `reuseport` command as users get it: the packed tarball installed into
// a fresh project with npm and run with `npx reuseport` on Node 20 and
// Node 26 and with `deno run npm:reuseport`, installed with `bun add` and run
// with `bunx --bun reuseport`, and cli.ts run by Deno from a URL. Each serves
// a small HTTP app that imports the library by its package name (by URL from
// the URL) under `reuseport run` with 2 workers, asks `reuseport status`, and
// stops on SIGTERM.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { root, runtimes } from "./_runtimes.ts";
import { type RepoServer, serveRepo } from "./_serve-repo.ts";
import { type Watched, watch } from "./_watched.ts";

/**
 * The app: HTTP on the socket `reuseport run` hands it, answering
 * "<runtime> <its version> <pid>" and closing each connection.
 */
const app = (library: string): string => `
import process from "node:process";
import { inheritedSockets, listen } from "${library}";

const port = inheritedSockets()[0]?.localAddr.port ?? Number(process.argv[2]);
const runtime = "Deno" in globalThis ? "deno" : process.versions.bun ? "bun" : "node";
const body = runtime + " " + (process.versions[runtime] ?? "?") + " " + process.pid;
const response = new TextEncoder().encode(
  "HTTP/1.1 200 OK\\r\\ncontent-length: " + body.length + "\\r\\nconnection: close\\r\\n\\r\\n" + body,
);
const listener = listen({ hostname: "127.0.0.1", port });
for await (const conn of listener) {
  (async () => {
    try {
      const buffer = new Uint8Array(4096);
      let request = "";
      while (!request.includes("\\r\\n\\r\\n")) {
        const n = await conn.read(buffer);
        if (n === null) break;
        request += new TextDecoder().decode(buffer.subarray(0, n));
      }
      await conn.write(response);
    } finally {
      conn.close();
    }
  })().catch(() => {});
}
`;

/** Every directory made here, removed at the end. */
const made: string[] = [];
function temporary(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A private runtime directory, so these supervisors never meet another one. */
const runtimeDir = temporary("reuseport-package-cli-");

/**
 * The environment a user's shell would give: none of the npm_* variables of
 * the npm running these tests, no node_modules/.bin of this repository on
 * PATH, and `node` the one asked for.
 */
function userEnv(node?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("npm_")) env[key] = value;
  const path = (process.env.PATH ?? "").split(delimiter).filter((dir) => !dir.includes("node_modules"));
  if (node !== undefined) path.unshift(dirname(realpathSync(node)));
  return { ...env, PATH: path.join(delimiter), XDG_RUNTIME_DIR: runtimeDir, NO_COLOR: "1" };
}

let tarball = "";
let server: RepoServer;

beforeAll(async () => {
  const packDir = temporary("reuseport-pack-");
  execFileSync("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: root, stdio: "pipe" });
  const [name] = readdirSync(packDir).filter((file) => file.endsWith(".tgz"));
  if (name === undefined) throw new Error("npm pack made no tarball");
  tarball = join(packDir, name);
  server = await serveRepo(["cli.ts"], { "programs/app.ts": (base) => app(`${base}/mod.ts`) });
}, 120_000);

afterAll(async () => {
  await server?.close();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function project(): string {
  const dir = temporary("reuseport-user-");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "user-app", private: true, type: "module" }));
  return dir;
}

/** One GET; resolves with the body. */
function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 5_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve(body));
    });
    request.on("timeout", () => request.destroy(new Error("no answer in 5 s")));
    request.on("error", reject);
  });
}

/**
 * Runs a command to its end without blocking this process, which serves
 * the repository to Deno meanwhile.
 */
function finish(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function start(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Watched {
  return watch(spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] }), 30_000);
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}

/** How one way of installing runs the command: argv before `run …`, in which project, with what environment. */
interface Way {
  readonly command: string;
  readonly prefix: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** What each worker answers before its pid. */
  readonly answer: RegExp;
  /** The runtime `reuseport status` shows for each worker. */
  readonly runtime: string;
  /** How each worker's end is told after the SIGTERM. */
  readonly stopped: string;
}

/** A worker that drained and exited by itself. */
const exitedByItself = "exited with code 0";
/**
 * The same under a Deno supervisor: Deno's node:child_process reports a
 * child it sent a signal to as ended by that signal, whatever its status.
 */
const exitedUnderDeno = "exited (?:with code 0|by SIGTERM)";

/**
 * `run --workers 2` serving the app on a port the supervisor picks; every
 * worker ready, 2 pids answering over HTTP, `status` from the same install,
 * then SIGTERM to the supervisor: exit 0, every worker stopped cleanly.
 */
async function runAndStop(way: Way, appPath: string, runArgs: readonly string[] = []): Promise<void> {
  // A runtime directory of its own: what one run leaves (after a failure) cannot confuse the next.
  const env = { ...way.env, XDG_RUNTIME_DIR: temporary("reuseport-run-") };
  const reuseport = (args: readonly string[]) => finish(way.command, [...way.prefix, ...args], { cwd: way.cwd, env });
  const running = start(
    way.command,
    [...way.prefix, "run", "--workers", "2", "--port", "0", "--host", "127.0.0.1", ...runArgs, appPath],
    way.cwd,
    env,
  );
  const pids: number[] = [];
  let supervisor = 0;
  try {
    const serving = await running.waitFor(
      /serving tcp 127\.0\.0\.1:(\d+) with 2 workers \(supervisor pid (\d+)\)/,
      60_000,
    );
    const port = Number(serving[1]);
    supervisor = Number(serving[2]);
    for (const slot of [0, 1]) {
      pids.push(Number((await running.waitFor(new RegExp(`slot ${slot} pid (\\d+) gen 1: ready`), 60_000))[1]));
    }
    // The kernel spreads connections by their addresses: keep asking until both workers have answered.
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const body = await ask(port);
      const match = body.match(new RegExp(`^${way.answer.source} (\\d+)$`));
      expect(match, body).not.toBeNull();
      seen.add(Number(match?.at(-1)));
    }
    expect([...seen].sort()).toEqual([...pids].sort());
    // No name: the one supervisor of this user is the one meant.
    const table = await reuseport(["status"]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^app: generation 1, 2 workers$/m);
    for (const [slot, pid] of pids.entries()) {
      expect(table.stdout).toMatch(new RegExp(`^${slot}\\s+${pid}\\s+1\\s+${way.runtime}\\s+ready`, "m"));
    }
    process.kill(supervisor, "SIGTERM");
    expect(await running.exited, running.output()).toBe(0);
    expect(running.output()).toContain("stopping on SIGTERM");
    for (const pid of pids) expect(running.output()).toMatch(new RegExp(`pid ${pid} gen 1: ${way.stopped}\n`));
    expect(running.output()).toContain("stopped: every worker stopped cleanly");
    const gone = await reuseport(["status", "app"]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain('no supervisor named "app"');
  } finally {
    for (const pid of [...pids, supervisor]) if (pid !== 0) kill(pid);
    running.child.kill("SIGKILL");
  }
}

/** --help and run --help exit 0 with their usage text. */
async function expectHelp(way: Way): Promise<void> {
  for (const [args, usage] of [
    [["--help"], "reuseport run [options] <app>"],
    [["run", "--help"], "Usage: reuseport run [options] <app> [app args...]"],
  ] as const) {
    const result = await finish(way.command, [...way.prefix, ...args], way);
    expect(result.status, `${args.join(" ")}: ${result.stderr}`).toBe(0);
    expect(result.stdout).toContain(usage);
  }
}

test("the command's files are in the tarball, the bin executable", () => {
  const listing = execFileSync("tar", ["-tvzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
  const mode = (file: string) => listing.find((line) => line.endsWith(` package/${file}`))?.split(" ")[0];
  for (const file of [
    "bin/reuseport.js",
    "dist/cli-node.js",
    "dist/cli-bun.js",
    "dist/cli-deno.js",
    "dist/deno.js",
    "cli.ts",
    "src/cli/deno.ts",
  ]) {
    expect(mode(file), file).toBeDefined();
  }
  expect(mode("bin/reuseport.js")).toMatch(/^-rwx/);
});

describe("npm install of the tarball, npx reuseport", () => {
  let dir = "";
  beforeAll(() => {
    dir = project();
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--silent", tarball], {
      cwd: dir,
      env: userEnv(),
      stdio: "pipe",
    });
    writeFileSync(join(dir, "app.mjs"), app("reuseport"));
  }, 180_000);

  // npx runs the bin with the first `node` on PATH; `--no`: never fetch a package of that name.
  const node = (id: "node20" | "node26"): Way => {
    const [executable] = runtimes[id].argv("x") as [string];
    return {
      command: "npx",
      prefix: ["--no", "--", "reuseport"],
      cwd: dir,
      env: userEnv(executable),
      answer: id === "node20" ? /node 20\.\d+\.\d+/ : /node 26\.\d+\.\d+/,
      runtime: "node",
      stopped: exitedByItself,
    };
  };

  test.each(["node20", "node26"] as const)(
    "%s: --help and run --help exit 0",
    async (id) => {
      await expectHelp(node(id));
    },
    60_000,
  );

  test.each(["node20", "node26"] as const)(
    "%s: run 2 workers, status, SIGTERM",
    async (id) => {
      await runAndStop(node(id), "app.mjs");
    },
    120_000,
  );

  // The bin on Deno runs the Deno build, and the app's "reuseport" resolves to JavaScript Deno runs from node_modules.
  test("deno run npm:reuseport: --help, run 2 Deno workers, status, SIGTERM", async () => {
    const deno: Way = {
      command: join(root, "node_modules/.bin/deno"),
      // --cached-only: npm:reuseport is the one in node_modules, never one fetched.
      prefix: ["run", "--quiet", "--cached-only", "-A", "npm:reuseport"],
      cwd: dir,
      env: { ...userEnv(), DENO_DIR: temporary("reuseport-deno-dir-") },
      answer: /deno \S+/,
      runtime: "deno",
      stopped: exitedUnderDeno,
    };
    await expectHelp(deno);
    await runAndStop(deno, "app.mjs");
  }, 120_000);
});

describe("bun add of the tarball, bunx --bun reuseport", () => {
  let dir = "";
  const bun = (): Way => ({
    command: join(root, "node_modules/.bin/bunx"),
    // --bun: the bin runs on Bun rather than the node its #! names; --no-install: never fetch one.
    prefix: ["--bun", "--no-install", "reuseport"],
    cwd: dir,
    env: userEnv(),
    answer: /bun \d+\.\d+\.\d+/,
    runtime: "bun",
    stopped: exitedByItself,
  });
  beforeAll(() => {
    dir = project();
    execFileSync(join(root, "node_modules/.bin/bun"), ["add", tarball], { cwd: dir, env: userEnv(), stdio: "pipe" });
    writeFileSync(join(dir, "app.mjs"), app("reuseport"));
  }, 180_000);

  test("--help and run --help exit 0", async () => {
    await expectHelp(bun());
  }, 60_000);

  test("run 2 workers, status, SIGTERM: the supervisor and its workers on Bun", async () => {
    await runAndStop(bun(), "app.mjs");
  }, 120_000);
});

test("Deno from a URL: deno run -A <url>/cli.ts run 2 workers of an app imported by URL, status, SIGTERM", async () => {
  const way: Way = {
    command: join(root, "node_modules/.bin/deno"),
    prefix: ["run", "--quiet", "-A", `${server.base}/cli.ts`],
    cwd: temporary("reuseport-user-"),
    // Nothing cached helps.
    env: { ...userEnv(), DENO_DIR: temporary("reuseport-deno-dir-") },
    answer: /deno \S+/,
    runtime: "deno",
    stopped: exitedUnderDeno,
  };
  await expectHelp(way);
  // The workers get --allow-ffi and --allow-env; importing from this host is the app's own need.
  await runAndStop(way, `${server.base}/programs/app.ts`, [
    "--runtime-args",
    `--allow-import=${new URL(server.base).host}`,
  ]);
}, 180_000);
