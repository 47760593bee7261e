// Serves files of the repository over HTTP on loopback, as a web server
// would serve a checkout to Deno users who import mod.ts by URL.
import { readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { root } from "./_runtimes.ts";

const types: Record<string, string> = { ".ts": "application/typescript", ".json": "application/json" };

export interface RepoServer {
  /** "http://127.0.0.1:PORT" */
  readonly base: string;
  close(): Promise<void>;
}

/**
 * Serves `mod.ts`, `src/` and the `extra` paths (relative, such as
 * "examples/deno-server.ts"); `generated` maps further paths to text made
 * from the base URL.
 */
export async function serveRepo(
  extra: readonly string[] = [],
  generated: Record<string, (base: string) => string> = {},
): Promise<RepoServer> {
  let base = "";
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname)).slice(1);
    const made = generated[path];
    if (made !== undefined) {
      response.writeHead(200, { "content-type": types[".ts"] });
      response.end(made(base));
      return;
    }
    const file = join(root, path);
    const type = types[extname(file)];
    const allowed = path === "mod.ts" || path.startsWith("src/") || extra.includes(path);
    if (!type || !allowed || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": type });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
