// `reuseport run` started by systemd socket activation, with this test as
// systemd: sockets at fd 3 onward, LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID set
// as systemd sets them, and a NOTIFY_SOCKET for Type=notify.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { accept4, openSocket, sys, watchReadable } from "../src/node.ts";
import { receiveNotifications } from "../src/supervisor/_notify.ts";
import { root, runtimes } from "./_runtimes.ts";
import { watch } from "./_watched.ts";
import { httpBody } from "./conformance/_util.ts";

const app = join(root, "test/supervisor/app.ts");
const runtimeDir = mkdtempSync(join(tmpdir(), "reuseport-systemd-"));
afterAll(() => rmSync(runtimeDir, { recursive: true, force: true }));

interface Activated {
  output(): string;
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  /** Every "KEY=VALUE" the supervisor sent to its NOTIFY_SOCKET. */
  notified: string[];
  close(): void;
}

/** Starts `reuseport run` as systemd would: `fds` at 3+, LISTEN_PID its own pid unless `listenPid` says otherwise. */
function activate(fds: readonly number[], names: string, args: readonly string[], listenPid?: string): Activated {
  const notified: string[] = [];
  const notifyPath = join(runtimeDir, `notify-${Math.random().toString(36).slice(2)}`);
  const notify = receiveNotifications(
    sys(),
    watchReadable,
    notifyPath,
    (key, value) => notified.push(`${key}=${value}`),
    (path) => rmSync(path, { force: true }),
  );
  const argv = runtimes.node26.argv(join(root, "src/cli/node.ts"), ["run", ...args, app, "inherited"]);
  const script = listenPid === undefined ? 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"' : 'exec "$0" "$@"';
  const child = spawn("/bin/sh", ["-c", script, ...argv], {
    env: {
      ...process.env,
      XDG_RUNTIME_DIR: runtimeDir,
      LISTEN_FDS: String(fds.length),
      LISTEN_FDNAMES: names,
      NOTIFY_SOCKET: notifyPath,
      ...(listenPid === undefined ? {} : { LISTEN_PID: listenPid }),
    },
    stdio: ["ignore", "pipe", "pipe", ...fds],
  });
  const watched = watch(child);
  return {
    output: watched.output,
    notified,
    exited: watched.exited,
    kill: (signal) => child.kill(signal),
    close: () => notify.close(),
    waitFor: async (pattern) => {
      await watched.waitFor(pattern);
    },
  };
}

async function pidsAnswering(port: number, requests = 40): Promise<Set<string>> {
  const bodies = await Promise.all(Array.from({ length: requests }, () => httpBody(port)));
  return new Set(bodies.map((b) => b.split("-")[2] ?? b));
}

test("adopts a ReusePort=yes socket for slot 0, joins its group for the others, and says READY=1 when all serve", async () => {
  const socket = openSocket({ hostname: "127.0.0.1", port: 0 });
  const port = socket.localAddr.port;
  const run = activate([socket.fd], "http", ["-w", "2", "--name", "activated"]);
  try {
    await run.waitFor(/serving the 1 inherited socket\(s\): http/);
    await run.waitFor(/slot 1 pid \d+ gen 1: ready/);
    await run.waitFor(/slot 0 pid \d+ gen 1: ready/);
    expect((await pidsAnswering(port)).size).toBe(2);
    const deadline = Date.now() + 5000;
    while (!run.notified.includes("READY=1") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(run.notified).toContain("READY=1");
    run.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    // The socket is still systemd's: it listens, and a connection waits in its queue.
    const waiting = httpBody(port, "127.0.0.1", 5000).catch(() => "failed");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const conn = accept4(socket.fd);
    expect(conn).not.toBeNull();
    if (conn) sys().close(conn.fd);
    expect(await waiting).toBe("failed");
  } finally {
    run.kill("SIGKILL");
    run.close();
    socket.close();
  }
}, 60_000);

test("a socket without SO_REUSEPORT is shared by every worker, and the supervisor says so", async () => {
  const socket = openSocket({ hostname: "127.0.0.1", port: 0, reusePort: false });
  const run = activate([socket.fd], "http", ["-w", "2", "--name", "shared"]);
  try {
    await run.waitFor(/every worker shares it/);
    await run.waitFor(/slot 1 pid \d+ gen 1: ready/);
    await run.waitFor(/slot 0 pid \d+ gen 1: ready/);
    expect(run.output()).toContain("ReusePort=yes");
    expect((await pidsAnswering(socket.localAddr.port, 80)).size).toBeGreaterThanOrEqual(1);
    run.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  } finally {
    run.kill("SIGKILL");
    run.close();
    socket.close();
  }
}, 60_000);

test("LISTEN_PID of another process: the variables are ignored, as systemd specifies", async () => {
  const socket = openSocket({ hostname: "127.0.0.1", port: 0 });
  const run = activate([socket.fd], "http", ["-w", "1", "--name", "not-mine"], String(process.pid));
  try {
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain("no address to serve");
  } finally {
    run.close();
    socket.close();
  }
}, 30_000);
