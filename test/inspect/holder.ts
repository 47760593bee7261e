// Holds sockets on one address for the inspect test: prints "ready" once
// they are open, and closes them when stdin ends.
//   holder.ts <hostname> <port> <count> [--no-reuseport]
import { openSocket } from "../../src/node.ts";

const [hostname = "127.0.0.1", port = "0", count = "1"] = process.argv.slice(2);
const reusePort = !process.argv.includes("--no-reuseport");
const sockets = Array.from({ length: Number(count) }, () => openSocket({ hostname, port: Number(port), reusePort }));
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", () => {
  for (const socket of sockets) socket.close();
  process.exit(0);
});
