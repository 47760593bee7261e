import type { PortReport } from "../inspect/inspect.ts";
import { formatHostPort } from "../socket/_ip.ts";

function endpoint(transport: string, hostname: string, port: number): string {
  return `${transport} ${formatHostPort(hostname, port)}`;
}

/** The `reuseport inspect` text: each group with its sockets, then the problems. */
export function formatInspect(report: PortReport): string {
  const lines: string[] = [];
  if (report.groups.length === 0) lines.push(`nothing is bound to port ${report.port}`);
  for (const group of report.groups) {
    const count = group.sockets.length;
    const what = count === 1 ? "1 socket" : `a reuseport group of ${count} sockets`;
    lines.push(`${endpoint(group.transport, group.hostname, group.port)}  uid ${group.uid}: ${what}`);
    for (const socket of group.sockets) {
      const queue =
        socket.transport === "tcp"
          ? `queue ${socket.queued}/${socket.backlog ?? "?"}`
          : `queued ${socket.queued} B, ${socket.drops ?? 0} dropped`;
      const owners =
        socket.owners.length > 0
          ? socket.owners.map((o) => `pid ${o.pid} ${o.command} fd ${o.fd}`).join(", ")
          : "owner not resolved";
      lines.push(`  ${socket.state.padEnd(6)}  ${queue.padEnd(24)}  ${owners}  (inode ${socket.inode})`);
    }
  }
  if (report.unreadableProcesses > 0) {
    lines.push(
      `${report.unreadableProcesses} processes' fds could not be read (uid ${report.uid}): sockets whose owner is "not resolved" belong to them`,
    );
  }
  if (report.problems.length > 0) {
    lines.push("problems:");
    for (const problem of report.problems) lines.push(`  - ${problem.message}`);
  }
  return `${lines.join("\n")}\n`;
}
