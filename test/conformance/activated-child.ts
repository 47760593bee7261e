// A socket-activated worker for the activation scenarios: started by a fake
// systemd parent with sockets from fd 3 and LISTEN_* in its environment.
//
//   activated-child.ts <plan as JSON>
//
// Runs the plan's calls in order and prints one JSON report line: each
// call's result (or its error), inheritedSockets(), and what its fds from 3
// on are. Then, by `after`:
//   "serve" (default): listeners answer "child" on every connection and
//     close it; datagram sockets echo "child:" + data. Line "close" closes
//     every socket (prints "closed"); end of stdin closes them and exits.
//   "hold": nothing is accepted or received (listeners' queues fill), otherwise "serve".
//   "term": stdin is not read; nothing is accepted or received until SIGTERM,
//     then every listener and datagram socket is served until its iteration
//     ends (the library drains them), and the line {"served": n} is printed.
//     The process must then exit by itself.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { Conn, DatagramSocket, Listener, RawSocket } from "../../src/node.ts";
import { loadForRuntime } from "./_library.ts";

/** One call of the plan. */
export type Call =
  | { readonly fn: "listen" | "listenDatagram" | "openSocket"; readonly options: Record<string, unknown> }
  | { readonly fn: "notifyReady" | "inheritedSockets" };

export interface Plan {
  readonly calls: readonly Call[];
  readonly after?: "serve" | "hold" | "term";
}

/** An error as the report carries it. */
export interface ReportedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly reason?: string;
  readonly fd?: number;
  readonly fdName?: string;
}

export type CallResult =
  | { readonly ok: true; readonly fd?: number; readonly addr?: unknown; readonly value?: unknown }
  | { readonly ok: false; readonly error: ReportedError };

export interface ActivatedReport {
  readonly pid: number;
  readonly results: readonly CallResult[];
  readonly inherited: CallResult;
  /** fd → what it is (readlink of /proc/self/fd), for fds 3 to 9. */
  readonly fds: Readonly<Record<string, string>>;
  /** fd → whether it is close-on-exec, for the same fds. */
  readonly cloexec: Readonly<Record<string, boolean>>;
}

const plan = JSON.parse(process.argv[2] as string) as Plan;
const { lib } = await loadForRuntime();
const print = (line: unknown): void => {
  process.stdout.write(`${typeof line === "string" ? line : JSON.stringify(line)}\n`);
};
const reported = (error: unknown): CallResult => {
  const e = error as Error & { code?: string; reason?: string; fd?: number; fdName?: string };
  return {
    ok: false,
    error: { name: e.name, message: e.message, code: e.code, reason: e.reason, fd: e.fd, fdName: e.fdName },
  };
};

const listeners: Listener[] = [];
const datagrams: DatagramSocket[] = [];
const raws: RawSocket[] = [];
const results: CallResult[] = [];
for (const call of plan.calls) {
  try {
    if (call.fn === "listen") {
      const listener = lib.listen(call.options as never);
      listeners.push(listener);
      results.push({ ok: true, fd: listener.fd, addr: listener.addr });
    } else if (call.fn === "listenDatagram") {
      const socket = lib.listenDatagram(call.options as never);
      datagrams.push(socket);
      results.push({ ok: true, fd: socket.fd, addr: socket.addr });
    } else if (call.fn === "openSocket") {
      const raw = lib.openSocket(call.options as never);
      raws.push(raw);
      results.push({ ok: true, fd: raw.fd, addr: raw.localAddr });
    } else if (call.fn === "notifyReady") {
      results.push({ ok: true, value: lib.notifyReady() });
    } else {
      results.push({ ok: true, value: lib.inheritedSockets() });
    }
  } catch (error) {
    results.push(reported(error));
  }
}
let inherited: CallResult;
try {
  inherited = { ok: true, value: lib.inheritedSockets() };
} catch (error) {
  inherited = reported(error);
}
const fds: Record<string, string> = {};
const cloexec: Record<string, boolean> = {};
/** What fds 3 to 9 are; nothing where /proc cannot be read (Deno without --allow-all). */
function inspectFds(): void {
  let names: string[];
  try {
    names = readdirSync("/proc/self/fd");
  } catch {
    return;
  }
  for (const name of names) {
    const fd = Number(name);
    if (fd < 3 || fd > 9) continue;
    try {
      fds[name] = readlinkSync(`/proc/self/fd/${name}`);
      const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${name}`, "utf8"))?.[1] ?? "0";
      // O_CLOEXEC as fdinfo shows it (octal 02000000 on x86_64 and aarch64).
      cloexec[name] = (Number.parseInt(flags, 8) & 0o2000000) !== 0;
    } catch {
      // The listing's own fd is gone by now.
    }
  }
}
inspectFds();
const report: ActivatedReport = { pid: process.pid, results, inherited, fds, cloexec };
print(report);

const encoder = new TextEncoder();
/** Answers "child", half-closes, and closes once the client has closed its side too. */
async function answer(conn: Conn): Promise<void> {
  try {
    await conn.write(encoder.encode("child"));
    await conn.closeWrite();
    const buffer = new Uint8Array(64);
    while ((await conn.read(buffer)) !== null);
  } finally {
    conn.close();
  }
}

/** Serves until each socket's iteration ends; resolves with how many connections and datagrams it answered. */
async function serveAll(): Promise<number> {
  let served = 0;
  const work: Promise<void>[] = [];
  for (const listener of listeners) {
    work.push(
      (async () => {
        const answers: Promise<void>[] = [];
        for await (const conn of listener) {
          served++;
          answers.push(answer(conn).catch(() => {}));
        }
        await Promise.all(answers);
      })(),
    );
  }
  for (const socket of datagrams) {
    work.push(
      (async () => {
        for await (const [data, from] of socket) {
          served++;
          await socket.send(new Uint8Array([...encoder.encode("child:"), ...data]), from);
        }
      })(),
    );
  }
  await Promise.all(work);
  return served;
}

const closeAll = (): void => {
  for (const listener of listeners) listener.close();
  for (const socket of datagrams) socket.close();
  for (const raw of raws) raw.close();
};

const after = plan.after ?? "serve";
if (after === "term") {
  // Registered after the library's own handler (listen() registers it), so the drain comes first.
  // The app's own reason to live until SIGTERM: on Deno, connections waiting
  // in a paused accept4 listener's queue do not hold the process by themselves.
  const alive = setInterval(() => {}, 60_000);
  process.on("SIGTERM", () => {
    void serveAll().then((served) => {
      print({ served });
      clearInterval(alive);
    });
  });
} else {
  if (after === "serve") void serveAll();
  let pending = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line === "close") {
        closeAll();
        print("closed");
      }
      newline = pending.indexOf("\n");
    }
  });
  process.stdin.on("end", () => {
    closeAll();
    process.exit(0);
  });
}
