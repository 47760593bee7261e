import type { Host } from "./_types.ts";
import { serveFdWithNodeHttp } from "./node.ts";

export const host: Host = {
  runtime: "deno",
  serveFd: serveFdWithNodeHttp,
  command: (script, args) => [Deno.execPath(), "run", "--allow-all", "--quiet", script, ...args],
};
