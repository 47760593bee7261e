// Deno users import mod.ts straight from a URL. This serves the repository
// over HTTP on loopback and runs programs that do exactly that, with a fresh
// DENO_DIR (nothing cached helps) and only the permissions the README names.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { root } from "./_runtimes.ts";

const deno = join(root, "node_modules/.bin/deno");

/** Programs served beside the repository, each importing the library by URL. */
const programs: Record<string, (base: string) => string> = {
  "tcp-group.ts": (base) => `
import { listen } from "${base}/mod.ts";
const first = listen({ hostname: "127.0.0.1", port: 0 });
const second = listen({ hostname: "127.0.0.1", port: first.addr.port });
const served = [first, second].map(async (listener) => {
  for await (const conn of listener) {
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer);
    await conn.write(buffer.subarray(0, n ?? 0));
    conn.close();
  }
});
for (let i = 0; i < 8; i++) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: first.addr.port });
  await conn.write(new TextEncoder().encode("ping " + i));
  const buffer = new Uint8Array(64);
  const n = await conn.read(buffer);
  if (new TextDecoder().decode(buffer.subarray(0, n ?? 0)) !== "ping " + i) throw new Error("bad echo");
  conn.close();
}
first.close();
second.close();
await Promise.all(served);
console.log("tcp ok");
`,
  "udp-group.ts": (base) => `
import { listenDatagram } from "${base}/mod.ts";
const server = listenDatagram({ hostname: "127.0.0.1", port: 0 });
const peer = listenDatagram({ hostname: "127.0.0.1", port: 0, reusePort: false });
await peer.send(new TextEncoder().encode("ping"), server.addr);
const [data, from] = await server.receive();
await server.send(data, from);
const [echo] = await peer.receive();
server.close();
peer.close();
console.log(new TextDecoder().decode(echo) === "ping" ? "udp ok" : "bad echo");
`,
};

const types: Record<string, string> = { ".ts": "application/typescript", ".json": "application/json" };

let server: Server;
let base = "";

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
    const program = programs[path.replace(/^\/programs\//, "")];
    if (path.startsWith("/programs/") && program) {
      response.writeHead(200, { "content-type": types[".ts"] });
      response.end(program(base));
      return;
    }
    const file = join(root, path);
    const type = types[extname(file)];
    const inside = file.startsWith(join(root, "src")) || file === join(root, "mod.ts");
    if (!type || !inside || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": type });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function runFromUrl(name: string, flags: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const denoDir = mkdtempSync(join(tmpdir(), "reuseport-deno-dir-"));
  const host = new URL(base).host;
  return new Promise((resolve) => {
    execFile(
      deno,
      ["run", "--quiet", "--no-prompt", `--allow-import=${host}`, ...flags, `${base}/programs/${name}`],
      { env: { ...process.env, DENO_DIR: denoDir, NO_COLOR: "1" }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ stdout, stderr, code: error ? Number(error.code ?? 1) : 0 }),
    );
  });
}

test("Deno from a URL: a TCP group of 2 listeners echoes, with --allow-ffi and --allow-net only", async () => {
  const run = await runFromUrl("tcp-group.ts", ["--allow-ffi", "--allow-net=127.0.0.1"]);
  expect(run.stdout.trim(), run.stderr).toBe("tcp ok");
});

test("Deno from a URL: UDP needs --allow-ffi alone", async () => {
  const run = await runFromUrl("udp-group.ts", ["--allow-ffi"]);
  expect(run.stdout.trim(), run.stderr).toBe("udp ok");
});

test("Deno from a URL: without --allow-ffi the error names the flag", async () => {
  const run = await runFromUrl("udp-group.ts", []);
  expect(run.code).not.toBe(0);
  expect(run.stderr).toMatch(/run Deno with --allow-ffi/);
});
