import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Host } from "../hosts/_types.ts";

/**
 * Fds open now that were not open (to the same thing) in `before`, as
 * "fd target". Only what was opened and left open counts: a runtime that
 * closes an earlier scenario's socket late (Bun does, now and then) makes
 * an fd vanish meanwhile, which is not this scenario's doing.
 */
export function fdsOpenedSince(before: Map<string, string>, only: (target: string) => boolean = () => true): string[] {
  return [...openFds()]
    .filter(([fd, target]) => before.get(fd) !== target && only(target))
    .map(([fd, target]) => `${fd} ${target}`);
}

/**
 * A test of fd targets for this host's TCP sockets, read from /proc/net now:
 * leaves out Unix sockets, such as the socket pair Deno opens for itself at
 * some point of a process's life and keeps.
 */
export function tcpSocketTargets(): (target: string) => boolean {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").trim().split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode !== undefined) inodes.add(`socket:[${inode}]`);
    }
  }
  return (target) => inodes.has(target);
}

/**
 * Bytes the kernel holds unread for this host's IPv4 TCP socket from
 * `localPort` to `remotePort` (rx_queue in /proc/net/tcp), or undefined
 * where there is no such socket.
 */
export function unreadBytes(localPort: number, remotePort: number): number | undefined {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of readFileSync("/proc/net/tcp", "utf8").trim().split("\n").slice(1)) {
    const [, local, remote, , queues] = line.trim().split(/\s+/);
    if (local?.endsWith(`:${hex(localPort)}`) && remote?.endsWith(`:${hex(remotePort)}`)) {
      return Number.parseInt(queues?.split(":")[1] ?? "", 16);
    }
  }
  return undefined;
}

/** TCP's memory in pages now, from /proc/net/sockstat: past net.ipv4.tcp_mem's limits the kernel holds sends back. */
export function tcpMemoryPages(): number {
  return Number(/^TCP:.* mem (\d+)/m.exec(readFileSync("/proc/net/sockstat", "utf8"))?.[1]);
}

/**
 * TCP sockets opened since `before` and still open, once at most `expected`
 * remain (or 2 s have passed): a runtime may close a socket a moment after
 * it was told to.
 */
export async function tcpSocketsLeft(before: Map<string, string>, expected: number): Promise<string[]> {
  const left = (): string[] => fdsOpenedSince(before, tcpSocketTargets());
  for (let i = 0; i < 100 && left().length > expected; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return left();
}

/** A client connected to 127.0.0.1:`port`; half-open allowed, so it may keep sending after the server's FIN. */
export function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

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

/** Connects, optionally sends `request`, and resolves with everything the server sends before closing. */
export function rawBody(port: number, hostname = "127.0.0.1", request?: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: hostname });
    let text = "";
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${hostname}:${port}`)), timeoutMs);
    socket.setEncoding("latin1");
    socket.on("connect", () => {
      if (request !== undefined) socket.write(request);
    });
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("end", () => {
      clearTimeout(timer);
      socket.end();
      resolve(text);
    });
  });
}

/**
 * Makes `total` connections (at most `concurrency` at a time) and counts
 * which server answered each; `ask` makes one request (HTTP by default).
 */
export async function spread(
  port: number,
  total: number,
  hostname = "127.0.0.1",
  concurrency = 16,
  ask: (port: number, hostname: string) => Promise<string> = httpBody,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      const id = await ask(port, hostname);
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
  readonly pid: number;
  /** Resolves with the exit code when the child exits. */
  readonly exited: Promise<number | null>;
  /** Sends a line to the child's stdin. */
  send(line: string): void;
  /** The next line the child prints after its report. */
  nextLine(timeoutMs?: number): Promise<string>;
  /** Closes the child's stdin (its signal to stop) and waits for it to exit. */
  stop(): Promise<number | null>;
  kill(): void;
}

const childScript = new URL("./child.ts", import.meta.url).pathname;

/**
 * Runs test/conformance/child.ts on this same runtime. With `uid`, the
 * child runs as that user (and group) through setpriv, with a private
 * writable HOME and cache directories. `prefix` runs the child under a
 * wrapper command, such as prlimit.
 */
export async function startChild(
  host: Host,
  args: readonly string[],
  uid?: number,
  prefix: readonly string[] = [],
): Promise<Child> {
  let argv = [...prefix, ...host.command(childScript, args)];
  const env: Record<string, string | undefined> = { ...process.env };
  if (uid !== undefined) {
    const home = mkdtempSync(join(tmpdir(), "reuseport-user-"));
    chmodSync(home, 0o777);
    Object.assign(env, { HOME: home, DENO_DIR: join(home, "deno"), XDG_CACHE_HOME: home, TMPDIR: home });
    argv = ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", ...argv];
  }
  const [command, ...rest] = argv as [string, ...string[]];
  const child: ChildProcess = spawn(command, rest, { env, stdio: ["pipe", "pipe", "pipe"] });
  const followed = await followReport<ChildReport>(child);
  return {
    ...followed,
    pid: child.pid ?? -1,
    kill: () => child.kill("SIGKILL"),
    stop: async () => {
      await followed.stop();
      return 0;
    },
  };
}

/** A child that reports in lines on stdout, the first a JSON report, and stops when stdin closes. */
export interface Followed<Report> {
  readonly report: Report;
  readonly exited: Promise<number | null>;
  /** Writes a line to its stdin. */
  send(line: string): void;
  /** Its next stdout line; rejects if it exits or prints nothing in time. */
  nextLine(timeoutMs?: number): Promise<string>;
  /** Closes its stdin and waits for it to exit 0 (rejects with its stderr otherwise). */
  stop(): Promise<void>;
}

/** Reads a started child's report line and follows its output. */
export async function followReport<Report>(child: ChildProcess): Promise<Followed<Report>> {
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const buffered: string[] = [];
  let lineWaiter: ((line: string) => void) | undefined;
  lines.on("line", (line) => {
    if (lineWaiter) {
      const waiter = lineWaiter;
      lineWaiter = undefined;
      waiter(line);
    } else {
      buffered.push(line);
    }
  });
  const nextLine = (timeoutMs = 20_000): Promise<string> => {
    const line = buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child printed nothing in ${timeoutMs} ms; stderr: ${stderr}`)),
        timeoutMs,
      );
      lineWaiter = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`child exited (${code}); stderr: ${stderr}`));
      });
    });
  };
  const first = await nextLine();
  let report: Report;
  try {
    report = JSON.parse(first) as Report;
  } catch {
    throw new Error(`child printed ${JSON.stringify(first)}; stderr: ${stderr}`);
  }
  return {
    report,
    exited,
    send: (line) => child.stdin?.write(`${line}\n`),
    nextLine,
    stop: async () => {
      child.stdin?.end();
      const code = await exited;
      lines.close();
      if (code !== 0) throw new Error(`child exited with ${code}; stderr: ${stderr}`);
    },
  };
}
