// Every contender of bench:workers: what it is, how to start it with a
// number of workers on a port, which processes to count, and how it
// reloads. Each start resolves once every worker has answered a request.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RuntimeId, root, runtimes } from "../../test/_runtimes.ts";
import { answeringWorkers } from "./_probe.ts";
import { runToEnd, type Started, sleep, start, stopProcess } from "./_process.ts";
import type { Contender, Workload } from "./_results.ts";

/** A contender that is up: its port, the processes to count, and how to end it. */
export interface Running {
  readonly port: number;
  /** The roots of the process trees that hold every worker and master (CPU and wake-ups are counted over them). */
  roots(): number[];
  /** One reload (or one-by-one restart) of every worker, resolved once it is over. */
  reload?(): Promise<void>;
  stop(): Promise<void>;
}

export interface ContenderSpec extends Contender {
  readonly workloads: readonly Workload[];
  /** Whether the wake-up measurement runs on it (with 2 and 8 workers). */
  readonly wakeups: boolean;
  /** How it reloads, when the reload measurement runs on it. */
  readonly reloads?: string;
  /** What a reader of its figures must know, put in the report's notes. */
  readonly caveat?: string;
  start(workers: number, port: number): Promise<Running>;
}

const app = (file: string): string => join(root, "bench", "workers", "apps", file);
const names: Record<RuntimeId, string> = { node20: "Node 20", node26: "Node 26", bun: "Bun", deno: "Deno" };

/** How long a worker may take to answer its first request. */
const START_TIMEOUT_MS = 30_000;

/** Waits until `workers` distinct workers have answered on the port, then hands back the contender. */
async function up(port: number, workers: number, running: Omit<Running, "port">, what: Started[]): Promise<Running> {
  try {
    await answeringWorkers(port, workers, START_TIMEOUT_MS);
  } catch (error) {
    await running.stop();
    throw new Error(`${(error as Error).message}\n${what.map((s) => s.tail()).join("\n")}`);
  }
  return { port, ...running };
}

/**
 * The supervisor's command for workers on a runtime: `reuseport run` on Node 20, whatever the workers run.
 * `appArgs` follow the app: "inherited" for the apps that adopt the socket themselves, none for an unchanged app.
 */
function supervisorArgv(
  id: RuntimeId,
  workers: number,
  port: number,
  file: string,
  extra: readonly string[],
  appArgs: readonly string[] = ["inherited"],
): string[] {
  const [executable = "", ...flags] = runtimes[id].argv(file);
  const runtime = id === "bun" ? "bun" : id === "deno" ? "deno" : "node";
  const runtimeArgs =
    id === "node20" ? flags.slice(0, flags.indexOf(file)) : id === "deno" ? ["--allow-read", "--allow-net"] : [];
  return runtimes.node20.argv(join(root, "src", "cli", "node.ts"), [
    "run",
    "--workers",
    String(workers),
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--runtime",
    runtime,
    "--exec",
    executable,
    ...(runtimeArgs.length > 0 ? ["--runtime-args", runtimeArgs.join(" ")] : []),
    "--grace",
    "10",
    ...extra,
    file,
    ...appArgs,
  ]);
}

/** Starts `reuseport run` with this command and waits until every worker is ready and has answered; SIGHUP reloads. */
async function supervised(argv: readonly string[], workers: number, port: number): Promise<Running> {
  const supervisor = start(argv, { cwd: root });
  await supervisor.waitFor(/ready in \d+ ms/, START_TIMEOUT_MS, workers);
  let generation = 1;
  return up(
    port,
    workers,
    {
      roots: () => [supervisor.pid],
      async reload() {
        generation++;
        supervisor.child.kill("SIGHUP");
        await supervisor.waitFor(new RegExp(`reloaded: generation ${generation} serving`), START_TIMEOUT_MS);
      },
      stop: () => stopProcess(supervisor.child, 15_000),
    },
    [supervisor],
  );
}

function reuseport(
  id: RuntimeId,
  server: "listen" | "own",
  options: {
    steer?: "queue" | "stall-aware";
    /** false: `--no-preload`, the workers started without the preload. */
    preload?: false;
    workloads: readonly Workload[];
    wakeups?: boolean;
    reloads?: boolean;
  },
): ContenderSpec {
  const own = { node20: "node:http", node26: "node:http", bun: "Bun.listen", deno: "node:http" }[id];
  const file = server === "listen" ? app("listen.ts") : id === "bun" ? app("bun-tcp.ts") : app("node-http.ts");
  const steer = options.steer === undefined ? "" : ` · --steer ${options.steer}`;
  const preload = options.preload === false ? " · --no-preload" : "";
  return {
    id:
      `reuseport-${id}-${server === "listen" ? "listen" : "own"}` +
      `${options.steer === undefined ? "" : `-${options.steer}`}${options.preload === false ? "-nopreload" : ""}`,
    label: `reuseport run · ${names[id]} · ${server === "listen" ? "listen()" : own}${steer}${preload}`,
    runtime: id,
    family: "reuseport",
    server: server === "listen" ? "listen() (default engine)" : `${own} on the adopted fd`,
    workloads: options.workloads,
    wakeups: options.wakeups ?? false,
    ...(options.reloads ? { reloads: "SIGHUP to the supervisor" } : {}),
    start(workers, port) {
      const extra = [
        ...(options.steer === undefined ? [] : ["--steer", options.steer]),
        ...(options.preload === false ? ["--no-preload"] : []),
      ];
      return supervised(supervisorArgv(id, workers, port, file, extra), workers, port);
    },
  };
}

/**
 * `reuseport run` with an unchanged app, one that imports nothing of reuseport and listens on PORT: Express
 * on Node 20 (PM2's Node here, so the three Express rows run on one Node), whose listen the preload makes serve the adopted fd; Bun.serve's default export and Deno.serve
 * with `--self-bind`, which the preload binds with reusePort on the served address.
 */
function unchanged(id: "node20" | "bun" | "deno", workloads: readonly Workload[]): ContenderSpec {
  const { name, server, file } = {
    node20: { name: "express", server: "Express 5", file: app("express.mjs") },
    bun: { name: "serve", server: "Bun.serve", file: app("bun-unchanged.ts") },
    deno: { name: "serve", server: "Deno.serve", file: app("deno-unchanged-run.ts") },
  }[id];
  const selfBind = id !== "node20";
  return {
    id: `reuseport-${id}-${name}`,
    label: `reuseport run · ${names[id]} · ${server} (unchanged${selfBind ? ", --self-bind" : ""})`,
    runtime: id,
    family: "reuseport",
    // Express's is the string cluster's and PM2's runs of express.mjs have, which the cluster RR reference matches.
    server: selfBind ? `${server}, bound by the preload (--self-bind)` : server,
    workloads,
    wakeups: false,
    reloads: "SIGHUP to the supervisor",
    ...(id === "bun" ? { caveat: BUN_SERVE_CLOSE } : {}),
    start: (workers, port) =>
      supervised(supervisorArgv(id, workers, port, file, selfBind ? ["--self-bind"] : [], []), workers, port),
  };
}

/** The apps a cluster or PM2 runs besides node-http.ts: a suffix for the id, the server, and the file in apps/. */
const EXPRESS = { suffix: "-express", server: "Express 5", file: "express.mjs" } as const;

function cluster(
  id: "node20" | "node26",
  policy: "rr" | "none",
  wakeups: boolean,
  options: { app?: typeof EXPRESS; workloads?: readonly Workload[] } = {},
): ContenderSpec {
  const server = options.app?.server ?? "node:http";
  return {
    id: `cluster-${policy}-${id}${options.app?.suffix ?? ""}`,
    label: `cluster ${policy === "rr" ? "SCHED_RR" : "SCHED_NONE"} · ${names[id]} · ${server}`,
    runtime: id,
    family: policy === "rr" ? "cluster-rr" : "cluster-none",
    server,
    workloads:
      options.workloads ??
      (id === "node26" ? ["close", "keepalive", "burst", "cpu-heavy"] : ["close", "keepalive", "burst"]),
    wakeups,
    async start(workers, port) {
      const args = [policy, String(workers), String(port), ...(options.app === undefined ? [] : [options.app.file])];
      const primary = start(runtimes[id].argv(app("cluster.ts"), args), { cwd: root });
      await primary.waitFor(/^listening$/, START_TIMEOUT_MS);
      return up(port, workers, { roots: () => [primary.pid], stop: () => stopProcess(primary.child) }, [primary]);
    },
  };
}

const BUN_SERVE_CLOSE =
  "Bun.serve's failed requests in close are wrk's: Bun.serve closes the connection after answering a request " +
  "that asked for `Connection: close` without saying so in its answer, so wrk sends its next request on the " +
  "closed connection and counts a read error. A client that honours its own header sees no failure (checked " +
  "with the test suite's load client: 2,000 of 2,000 answered); the requests/s count only answered requests.";

/** Workers started by hand, each binding the port with the runtime's own reusePort. */
function native(id: "node26" | "bun" | "deno", options: { wakeups: boolean; reloads: boolean }): ContenderSpec {
  const server = { node26: "node:http", bun: "Bun.serve", deno: "Deno.serve" }[id];
  const file = { node26: app("node-http.ts"), bun: app("bun-serve.ts"), deno: app("deno-serve.ts") }[id];
  return {
    id: `native-${id}`,
    label: `own reusePort · ${names[id]} · ${server}`,
    runtime: id,
    family: "native",
    server: `${server} with reusePort`,
    workloads: ["close", "keepalive", "burst"],
    wakeups: options.wakeups,
    ...(options.reloads ? { reloads: "each worker stopped and started again in turn (no supervisor)" } : {}),
    ...(id === "bun" ? { caveat: BUN_SERVE_CLOSE } : {}),
    async start(workers, port) {
      const argv = (): string[] => {
        const args = id === "node26" ? ["reuse-port", String(port)] : [String(port)];
        const command = runtimes[id].argv(file, args);
        if (id === "deno") command.splice(2, 0, "--unstable-net");
        return command;
      };
      const launch = async (): Promise<Started> => {
        const worker = start(argv(), { cwd: root });
        await worker.waitFor(/^listening/, START_TIMEOUT_MS);
        return worker;
      };
      const processes = await Promise.all(Array.from({ length: workers }, launch));
      return up(
        port,
        workers,
        {
          roots: () => processes.map((p) => p.pid),
          // The naive restart: each worker in turn stops (closing its member of the group) and a new one binds.
          async reload() {
            for (let i = 0; i < processes.length; i++) {
              await stopProcess((processes[i] as Started).child);
              processes[i] = await launch();
            }
          },
          stop: async () => {
            await Promise.all(processes.map((p) => stopProcess(p.child)));
          },
        },
        processes,
      );
    },
  };
}

/**
 * PM2's cluster mode (`pm2 start -i N`) on Node 20, under a PM2 daemon of its own (PM2_HOME in a temporary
 * directory): node-http.ts (through pm2-entry.mjs, told its port as arguments), or another app that listens
 * on PORT, which the start command's environment holds and PM2 passes on to its instances.
 */
function pm2(options: { app?: typeof EXPRESS; workloads: readonly Workload[] }): ContenderSpec {
  const server = options.app?.server ?? "node:http";
  const file = app(options.app?.file ?? "pm2-entry.mjs");
  return {
    id: `pm2-node20${options.app?.suffix ?? ""}`,
    label: `PM2 cluster mode · Node 20 · ${server}`,
    runtime: "node20",
    family: "pm2",
    server,
    workloads: options.workloads,
    wakeups: false,
    reloads: "pm2 reload",
    async start(workers, port) {
      const home = mkdtempSync(join(tmpdir(), "reuseport-bench-pm2-"));
      const [node] = runtimes.node20.argv("x") as [string];
      const pm2Bin = join(root, "node_modules", "pm2", "bin", "pm2");
      const env = { ...process.env, PM2_HOME: home, ...(options.app === undefined ? {} : { PORT: String(port) }) };
      const pm2Command = async (args: string[]): Promise<void> => {
        const { code, tail } = await runToEnd([node, pm2Bin, ...args], { cwd: root, env });
        if (code !== 0) throw new Error(`pm2 ${args.join(" ")} exited with ${code}:\n${tail}`);
      };
      const cleanUp = async (): Promise<void> => {
        // `pm2 kill` ends the daemon and its workers; without it they would outlive the run.
        await pm2Command(["kill"]).catch(() => {});
        rmSync(home, { recursive: true, force: true });
      };
      let daemon: number;
      try {
        await pm2Command([
          "start",
          file,
          "--name",
          "bench",
          "-i",
          String(workers),
          // The apps import _respond.ts, which Node 20 loads through tsx.
          "--node-args",
          "--import tsx",
          ...(options.app === undefined ? ["--", "port", String(port)] : []),
        ]);
        daemon = Number(readFileSync(join(home, "pm2.pid"), "utf8"));
      } catch (error) {
        await cleanUp();
        throw error;
      }
      return up(
        port,
        workers,
        { roots: () => [daemon], reload: () => pm2Command(["reload", "bench"]), stop: cleanUp },
        [],
      );
    },
  };
}

/**
 * `deno serve --parallel` with deno-unchanged.ts's default export: one Deno process whose threads, an
 * isolate each, serve the port (DENO_JOBS of them: Deno 2.9 takes the count from DENO_JOBS, else the
 * number of CPUs). Its threads accept on one listening socket: one accept queue, as `ss -tlnp` shows.
 */
const denoServeParallel: ContenderSpec = {
  id: "deno-serve-parallel",
  label: "deno serve --parallel · Deno · default export",
  runtime: "deno",
  family: "deno-parallel",
  server: "Deno.serve (deno serve's default export)",
  workloads: ["close", "keepalive"],
  wakeups: false,
  async start(workers, port) {
    const [deno] = runtimes.deno.argv("x") as [string];
    const argv = [deno, "serve", "--parallel", "--allow-net", "--port", String(port), "--host", "127.0.0.1"];
    const server = start([...argv, app("deno-unchanged.ts")], {
      cwd: root,
      env: { ...process.env, DENO_JOBS: String(workers) },
    });
    await server.waitFor(/Listening on/, START_TIMEOUT_MS);
    return up(port, workers, { roots: () => [server.pid], stop: () => stopProcess(server.child) }, [server]);
  },
};

/** nginx with `reuseport` and a worker per CPU answering a fixed body, in a prefix of its own (its master in the foreground). */
const nginx: ContenderSpec = {
  id: "nginx",
  label: "nginx · reuseport · return 200",
  runtime: "nginx",
  family: "nginx",
  server: "nginx return 200",
  workloads: ["close", "keepalive", "burst"],
  wakeups: true,
  reloads: "nginx -s reload",
  async start(workers, port) {
    const prefix = mkdtempSync(join(tmpdir(), "reuseport-bench-nginx-"));
    mkdirSync(join(prefix, "logs"));
    const conf = join(prefix, "nginx.conf");
    writeFileSync(conf, nginxConf(workers, port, prefix));
    const nginxArgv = ["nginx", "-p", prefix, "-c", conf];
    const master = start([...nginxArgv, "-g", "daemon off;"]);
    return up(
      port,
      workers,
      {
        roots: () => [master.pid],
        async reload() {
          await runToEnd([...nginxArgv, "-s", "reload"]);
          // The new workers start at once; the old ones finish what they hold and exit.
          await sleep(500);
        },
        async stop() {
          await stopProcess(master.child);
          rmSync(prefix, { recursive: true, force: true });
        },
      },
      [master],
    );
  },
};

function nginxConf(workers: number, port: number, prefix: string): string {
  return `worker_processes ${workers};
pid ${join(prefix, "nginx.pid")};
error_log ${join(prefix, "logs", "error.log")} warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${join(prefix, "body")};
  proxy_temp_path ${join(prefix, "proxy")};
  fastcgi_temp_path ${join(prefix, "fastcgi")};
  uwsgi_temp_path ${join(prefix, "uwsgi")};
  scgi_temp_path ${join(prefix, "scgi")};
  server {
    listen 127.0.0.1:${port} reuseport;
    location / {
      add_header x-worker $pid;
      return 200 "ok";
    }
  }
}
`;
}

/** One process, no workers: what the workers are to beat. */
const single: ContenderSpec = {
  id: "single-node26",
  label: "one process · Node 26 · node:http",
  runtime: "node26",
  family: "single",
  server: "node:http",
  workloads: ["close", "keepalive", "burst"],
  wakeups: false,
  async start(_workers, port) {
    const server = start(runtimes.node26.argv(app("node-http.ts"), ["port", String(port)]), { cwd: root });
    await server.waitFor(/^listening$/, START_TIMEOUT_MS);
    return up(port, 1, { roots: () => [server.pid], stop: () => stopProcess(server.child) }, [server]);
  },
};

const plain: readonly Workload[] = ["close", "keepalive", "burst"];
const heavy: readonly Workload[] = ["close", "keepalive", "burst", "cpu-heavy"];
/** The unchanged apps' rows, and the preload pair: connection per request and keep-alive. */
const light: readonly Workload[] = ["close", "keepalive"];

/** Every contender, in the order a round runs them. */
export const contenders: readonly ContenderSpec[] = [
  reuseport("node20", "listen", { workloads: plain, reloads: true }),
  reuseport("node20", "own", { workloads: plain }),
  reuseport("node26", "listen", { workloads: plain, wakeups: true }),
  reuseport("node26", "own", { workloads: heavy, wakeups: true, reloads: true }),
  // Next to its pair, so that the preload's cost is read off two neighbouring runs of every round.
  reuseport("node26", "own", { preload: false, workloads: light }),
  reuseport("node26", "own", { steer: "queue", workloads: ["close", "cpu-heavy"] }),
  reuseport("node26", "own", { steer: "stall-aware", workloads: ["close", "cpu-heavy"] }),
  unchanged("node20", light),
  reuseport("bun", "listen", { workloads: plain }),
  reuseport("bun", "own", { workloads: plain }),
  unchanged("bun", light),
  reuseport("deno", "listen", { workloads: plain }),
  reuseport("deno", "own", { workloads: plain }),
  unchanged("deno", light),
  cluster("node20", "rr", false),
  cluster("node20", "none", false),
  cluster("node26", "rr", true),
  cluster("node26", "none", true),
  cluster("node20", "rr", false, { app: EXPRESS, workloads: light }),
  pm2({ workloads: plain }),
  pm2({ app: EXPRESS, workloads: light }),
  native("node26", { wakeups: true, reloads: true }),
  native("bun", { wakeups: false, reloads: false }),
  native("deno", { wakeups: false, reloads: false }),
  denoServeParallel,
  nginx,
  single,
];
