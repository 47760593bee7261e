// A worker process for cross-process scenarios. Usage:
//   child.ts <port> [--no-reuseport] [--serve <id>] [--hostname <ip>]
// Opens one socket with the library, prints one JSON report line, serves
// HTTP on it if asked, and exits when its stdin closes.
import { loadForRuntime } from "./_library.ts";
import type { ChildReport } from "./_util.ts";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
const { lib, host } = await loadForRuntime();
const print = (report: ChildReport): void => {
  process.stdout.write(`${JSON.stringify(report)}\n`);
};

let stopServing = async (): Promise<void> => {};
try {
  const socket = lib.openSocket({
    port: Number(args[0]),
    hostname: flag("--hostname") ?? "127.0.0.1",
    reusePort: !args.includes("--no-reuseport"),
  });
  const id = flag("--serve");
  if (id === undefined) {
    stopServing = async () => socket.close();
  } else {
    const served = await host.serveFd(socket.release(), id);
    stopServing = () => served.close();
  }
  print({ ok: true, port: socket.localAddr.port });
} catch (error) {
  const e = error as Error & { code?: string; reason?: string; ownerUid?: number };
  print({
    ok: false,
    error: { name: e.name, code: e.code, reason: e.reason, ownerUid: e.ownerUid, message: e.message },
  });
}

process.stdin.resume();
process.stdin.on("end", async () => {
  await stopServing();
  process.exit(0);
});
