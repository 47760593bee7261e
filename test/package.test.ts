// The package as users install it: `npm pack`, then the tarball installed
// into a fresh project with npm (run on Node 20, Node 26 and Deno) and with
// `bun add`, running a program that opens a group of 2 listeners and
// exchanges data. Anything missing from the tarball fails here. The command
// from the same tarball: package-cli.test.ts.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, expect, test } from "vitest";
import { root, runtimes } from "./_runtimes.ts";

/** Opens 2 listeners on one port, echoes over each of 8 connections, and a UDP round trip. */
const program = `
import { connect } from "node:net";
import { listen, listenDatagram, openSocket, SocketError } from "reuseport";

const first = listen({ hostname: "127.0.0.1", port: 0 });
const second = listen({ hostname: "127.0.0.1", port: first.addr.port });
for (const listener of [first, second]) {
  (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(64);
      const n = await conn.read(buffer);
      await conn.write(buffer.subarray(0, n ?? 0));
      await conn.closeWrite();
    }
  })();
}
function ask(text) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: first.addr.port }, () => socket.write(text));
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => { answer += chunk; });
    socket.on("end", () => { socket.end(); resolve(answer); });
    socket.on("error", reject);
  });
}
for (let i = 0; i < 8; i++) {
  if ((await ask("ping " + i)) !== "ping " + i) throw new Error("bad echo " + i);
}
first.close();
second.close();

const server = listenDatagram({ hostname: "127.0.0.1", port: 0 });
const peer = listenDatagram({ hostname: "127.0.0.1", port: 0, reusePort: false });
await peer.send(new TextEncoder().encode("datagram"), server.addr);
const [data, from] = await server.receive();
await server.send(data, from);
const [echo] = await peer.receive();
server.close();
peer.close();
if (new TextDecoder().decode(echo) !== "datagram") throw new Error("bad datagram");

const taken = openSocket({ hostname: "127.0.0.1", port: 0, reusePort: false });
try {
  openSocket({ hostname: "127.0.0.1", port: taken.localAddr.port });
  throw new Error("no EADDRINUSE");
} catch (error) {
  if (!(error instanceof SocketError) || error.code !== "EADDRINUSE") throw error;
}
taken.close();
console.log("installed package ok");
`;

let tarball = "";

beforeAll(() => {
  const packDir = mkdtempSync(join(tmpdir(), "reuseport-pack-"));
  execFileSync("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: root, stdio: "pipe" });
  const [name] = readdirSync(packDir).filter((file) => file.endsWith(".tgz"));
  if (name === undefined) throw new Error("npm pack made no tarball");
  tarball = join(packDir, name);
}, 120_000);

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "reuseport-user-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "user-app", private: true, type: "module" }));
  return dir;
}

test("the tarball holds the build, the sources Deno needs and no dev tooling", () => {
  const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const file of [
    "package/dist/node.js",
    "package/dist/node.cjs",
    "package/dist/node.d.ts",
    "package/dist/bun.js",
    "package/dist/deno.js",
    "package/bin/reuseport.js",
    "package/dist/cli-node.js",
    "package/dist/cli-bun.js",
    "package/dist/cli-deno.js",
  ]) {
    expect(listing).toContain(file);
  }
  expect(listing).toContain("package/mod.ts");
  expect(listing).toContain("package/cli.ts");
  expect(listing).toContain("package/README.md");
  expect(listing.filter((file) => /\/(test|bench|scratch|examples|node_modules)\//.test(file))).toEqual([]);
});

test("npm install --ignore-scripts of the tarball: a group of 2 listeners and a UDP round trip on Node 20, Node 26 and Deno", () => {
  const dir = project();
  // Without install scripts, as stricter npm setups install: koffi's prebuilt binaries must do.
  execFileSync("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--silent", tarball], {
    cwd: dir,
    stdio: "pipe",
  });
  writeFileSync(join(dir, "main.mjs"), program);
  for (const id of ["node20", "node26"] as const) {
    const [node] = runtimes[id].argv("x");
    const output = execFileSync(node as string, ["main.mjs"], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    expect(output.trim(), id).toBe("installed package ok");
  }
  // Deno resolves "reuseport" from node_modules by the package's deno condition (--cached-only: that one, never one fetched).
  const output = execFileSync(
    join(root, "node_modules/.bin/deno"),
    ["run", "--quiet", "--cached-only", "--allow-ffi", "--allow-net=127.0.0.1", "main.mjs"],
    {
      cwd: dir,
      env: { ...process.env, DENO_DIR: mkdtempSync(join(tmpdir(), "reuseport-deno-dir-")), NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  expect(output.trim(), "deno").toBe("installed package ok");
}, 180_000);

test("bun add of the tarball: the same program on Bun", () => {
  const dir = project();
  const bun = join(root, "node_modules/.bin/bun");
  execFileSync(bun, ["add", tarball], { cwd: dir, stdio: "pipe" });
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src/main.ts"), program);
  const output = execFileSync(bun, ["src/main.ts"], { cwd: dir, encoding: "utf8", timeout: 30_000 });
  expect(output.trim()).toBe("installed package ok");
}, 180_000);
