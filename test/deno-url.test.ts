// Deno users import mod.ts straight from a URL. This serves the repository
// over HTTP on loopback and runs programs that do exactly that, with a fresh
// DENO_DIR (nothing cached helps) and only the permissions the README names.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { root } from "./_runtimes.ts";
import { type RepoServer, serveRepo } from "./_serve-repo.ts";

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

let server: RepoServer;
let base = "";

beforeAll(async () => {
  server = await serveRepo(
    [],
    Object.fromEntries(Object.entries(programs).map(([name, make]) => [`programs/${name}`, make])),
  );
  base = server.base;
});

afterAll(() => server.close());

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
