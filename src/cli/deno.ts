// `reuseport` on Deno: `deno run -A <url or jsr:…>/cli.ts run app.ts`.
import process from "node:process";
import { inspectPort, supervise } from "../deno.ts";
import { nodeProcessHost } from "../runtime/node-process.ts";
import { main } from "./main.ts";

process.exit(await main(process.argv.slice(2), { supervise, inspectPort, host: nodeProcessHost("deno") }));
