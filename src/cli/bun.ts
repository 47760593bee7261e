// `reuseport` on Bun.
import process from "node:process";
import { inspectPort, supervise } from "../bun.ts";
import { nodeProcessHost } from "../runtime/node-process.ts";
import { main } from "./main.ts";

process.exit(await main(process.argv.slice(2), { supervise, inspectPort, host: nodeProcessHost("bun") }));
