// Runs a driver (an argv that prints one JSON line last) in a network
// namespace of its own, whose net.ipv4.tcp_migrate_req root first sets to 0,
// as root or as uid 65534: the host's own setting is never touched, and a
// run as uid 65534 has no privilege at all.
import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function runInNamespace<T>(
  argv: readonly string[],
  as: "root" | "nobody",
  options: { readonly cwd: string; readonly timeoutMs: number; readonly env?: Readonly<Record<string, string>> },
): Promise<T> {
  // The supervisor's private directory (for its notify sockets) goes in a directory of the test's own.
  const dir = mkdtempSync(join(tmpdir(), "netns-driver-"));
  const drop = as === "nobody" ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  if (as === "nobody") chownSync(dir, 65534, 65534);
  const script = `ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=0 && exec ${drop}"$@"`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, TMPDIR: dir };
  delete env.XDG_RUNTIME_DIR;
  // Apps take their port from PORT, which the supervisor sets.
  delete env.PORT;
  try {
    return await new Promise<T>((resolve, reject) => {
      execFile(
        "unshare",
        ["-n", "sh", "-c", script, "sh", ...argv],
        { cwd: options.cwd, env, timeout: options.timeoutMs, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`the driver failed: ${error.message}\n${stderr}`));
          else resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "") as T);
        },
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
