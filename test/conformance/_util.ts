import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Host } from "../hosts/_types.ts";

/** Open file descriptors of this process, each with what it points to. */
export function openFds(): Map<string, string> {
  const fds = new Map<string, string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      fds.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch (error) {
      // Only the listing's own fd may vanish between readdir and readlink.
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
  }
  return fds;
}

/** One HTTP/1.1 request over a fresh TCP connection; resolves with the response body. */
export function httpBody(port: number, hostname = "127.0.0.1", timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: hostname });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${hostname}:${port}`)), timeoutMs);
    socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n"));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      if (split === -1) reject(new Error(`incomplete HTTP response from ${hostname}:${port}: ${JSON.stringify(text)}`));
      else resolve(text.slice(split + 4));
    });
  });
}

/**
 * Makes `total` connections (at most `concurrency` at a time) and counts
 * which server answered each.
 */
export async function spread(
  port: number,
  total: number,
  hostname = "127.0.0.1",
  concurrency = 16,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      const id = await httpBody(port, hostname);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

/** The first message a child prints: what opening its socket gave. */
export interface ChildReport {
  readonly ok: boolean;
  readonly port?: number;
  readonly error?: { name: string; code?: string; reason?: string; ownerUid?: number; message: string };
}

export interface Child {
  readonly report: ChildReport;
  /** Closes the child's stdin (its signal to stop) and waits for it to exit. */
  stop(): Promise<number | null>;
}

const childScript = new URL("./child.ts", import.meta.url).pathname;

/**
 * Runs test/conformance/child.ts on this same runtime. With `uid`, the
 * child runs as that user (and group) through setpriv, with a private
 * writable HOME and cache directories.
 */
export async function startChild(host: Host, args: readonly string[], uid?: number): Promise<Child> {
  let argv = host.command(childScript, args);
  const env: Record<string, string | undefined> = { ...process.env };
  if (uid !== undefined) {
    const home = mkdtempSync(join(tmpdir(), "reuseport-user-"));
    chmodSync(home, 0o777);
    Object.assign(env, { HOME: home, DENO_DIR: join(home, "deno"), XDG_CACHE_HOME: home, TMPDIR: home });
    argv = ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", ...argv];
  }
  const [command, ...rest] = argv as [string, ...string[]];
  const child: ChildProcess = spawn(command, rest, { env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const report = await new Promise<ChildReport>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child gave no report in 20 s; stderr: ${stderr}`)), 20_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as ChildReport);
      } catch {
        reject(new Error(`child printed ${JSON.stringify(line)}; stderr: ${stderr}`));
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before reporting; stderr: ${stderr}`));
    });
  });
  return {
    report,
    stop: async () => {
      child.stdin?.end();
      const code = await exited;
      lines.close();
      if (code !== 0) throw new Error(`child exited with ${code}; stderr: ${stderr}`);
      return code;
    },
  };
}
