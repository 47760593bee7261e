// The supervisor's processes, signals, files and control socket through
// node: modules, which Node, Bun and Deno all provide (checked on each:
// extra fds in the stdio array, SIGHUP/SIGTTIN/SIGTTOU through process.on).
import { spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { ChildHandle, ControlServer, ProcessHost, SpawnSpec, SupervisorSignal } from "../supervisor/_host.ts";
import type { WorkerExit, WorkerRuntime } from "../supervisor/types.ts";

function spawnChild(spec: SpawnSpec): ChildHandle {
  const child = spawn(spec.command, [...spec.args], {
    env: spec.env,
    cwd: spec.cwd,
    stdio: ["ignore", "pipe", "pipe", ...spec.fds],
    // A group of its own: a terminal's Ctrl-C or hangup reaches the
    // supervisor alone, which then stops the workers gracefully.
    detached: true,
  });
  let exited = false;
  const exit = new Promise<WorkerExit>((resolve) => {
    // "close" comes after "exit" once stdout and stderr are read to the end.
    child.once("close", (code, signal) => {
      exited = true;
      // Deno may report "close" with the pipes' fds still open; nothing more is read from them.
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ code, signal });
    });
    child.once("error", () => {
      exited = true;
      resolve({ code: 127, signal: null });
    });
  });
  child.stdout?.on("data", (chunk: Uint8Array) => spec.onStdout(chunk));
  child.stderr?.on("data", (chunk: Uint8Array) => spec.onStderr(chunk));
  return {
    pid: child.pid ?? -1,
    kill: (signal) => {
      // process.kill, not child.kill: Deno reports a child it signalled
      // through child.kill as killed by the signal even when it exited 0.
      if (!exited && child.pid !== undefined) {
        try {
          process.kill(child.pid, signal);
        } catch {}
      }
    },
    exited: exit,
  };
}

function privateDir(env: Record<string, string | undefined>): string {
  const uid = process.getuid?.() ?? 0;
  const dir = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "reuseport") : join(tmpdir(), `reuseport-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== uid) {
    throw new Error(`${dir} is not a directory of this user (uid ${uid}); refusing to keep control sockets there`);
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

function readRequest(socket: import("node:net").Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      const end = text.indexOf("\n");
      if (end !== -1) resolve(text.slice(0, end));
    });
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
}

function serveControl(path: string, handle: (request: unknown) => Promise<unknown>): Promise<ControlServer> {
  try {
    // A socket left by a supervisor that died; a live one would have answered `status`.
    unlinkSync(path);
  } catch {}
  const server = createServer((socket) => {
    void readRequest(socket)
      .then(async (line) => {
        const answer = await handle(JSON.parse(line));
        socket.end(`${JSON.stringify(answer)}\n`);
      })
      .catch((error: Error) => socket.end(`${JSON.stringify({ error: error.message })}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      server.unref();
      resolve({
        close: () => {
          server.close();
          try {
            unlinkSync(path);
          } catch {}
        },
      });
    });
  });
}

function askControl(path: string, request: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => socket.write(`${JSON.stringify(request)}\n`));
    socket.once("error", reject);
    void readRequest(socket).then((line) => {
      socket.destroy();
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`the supervisor at ${path} sent no answer`));
      }
    }, reject);
  });
}

/** Signals through node:process, which Node, Bun and Deno all deliver. */
function onSignal(signal: SupervisorSignal, handler: () => void): () => void {
  process.on(signal, handler);
  return () => {
    process.off(signal, handler);
  };
}

/** A ProcessHost over node: modules, for the runtime named. */
export function nodeProcessHost(runtime: WorkerRuntime): ProcessHost {
  return {
    runtime,
    execPath: process.execPath,
    pid: process.pid,
    env: () => ({ ...process.env }) as Record<string, string>,
    cpuCount: () => availableParallelism(),
    spawn: spawnChild,
    onSignal,
    writeStdout: (text) => {
      process.stdout.write(text);
    },
    writeStderr: (text) => {
      process.stderr.write(text);
    },
    privateDir: () => privateDir(process.env),
    listDir: (path) => {
      try {
        return readdirSync(path);
      } catch {
        return [];
      }
    },
    removeFile: (path) => {
      try {
        unlinkSync(path);
      } catch {}
    },
    readText: (path) => {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return undefined;
      }
    },
    writeText: (path, text) => {
      try {
        writeFileSync(path, text);
        return true;
      } catch {
        return false;
      }
    },
    serveControl,
    askControl,
  };
}
