// Node's cluster as a benchmark contender: a primary that forks workers
// serving one port, with the scheduling policy it is given:
//   cluster.ts <rr|none> <workers> <port> [worker script]
// rr (SCHED_RR, Node's default): the primary accepts every connection and
// passes it to a worker in turn; none (SCHED_NONE): every worker accepts on
// one shared socket. The workers run the script (a file in this folder,
// node-http.ts by default) with "port <port>" as arguments and PORT in
// their environment, for an app that listens on PORT (express.mjs).
// Prints "listening" once every worker listens.
import cluster from "node:cluster";
import { fileURLToPath } from "node:url";

const [policy = "rr", workersText = "2", port = "0", script = "node-http.ts"] = process.argv.slice(2);
if (policy !== "rr" && policy !== "none") throw new Error(`policy must be rr or none, got ${policy}`);
cluster.schedulingPolicy = policy === "rr" ? cluster.SCHED_RR : cluster.SCHED_NONE;
cluster.setupPrimary({
  exec: fileURLToPath(new URL(script, import.meta.url)),
  args: ["port", port],
  silent: true,
});

let listening = 0;
const workers = Number(workersText);
for (let i = 0; i < workers; i++) {
  cluster.fork({ PORT: port }).on("listening", () => {
    if (++listening === workers) process.stdout.write("listening\n");
  });
}
process.once("SIGTERM", () => {
  for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
  cluster.once("exit", () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
  setTimeout(() => process.exit(0), 2000).unref();
});
