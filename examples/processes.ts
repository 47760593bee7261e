// One app, several processes, one port: the launcher starts the app N times
// (default 4); every process calls listen() on the same port and the kernel
// spreads connections over them. No master process passes connections on.
//   node --import tsx examples/processes.ts [port] [processes]
//   bun examples/processes.ts [port] [processes]
//   curl http://127.0.0.1:8080/
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

const [role = "launcher", portArg = "8080", countArg = "4"] =
  process.argv[2] === "app" ? process.argv.slice(2) : ["launcher", ...process.argv.slice(2)];

/** The app: one listener in the group, answering with its pid. */
async function app(port: number): Promise<void> {
  const { listen } = await import("reuseport");
  const listener = listen({ hostname: "127.0.0.1", port });
  console.log(`ready ${listener.addr.port}`);
  const body = new TextEncoder().encode(`pid ${process.pid}\n`);
  const head = new TextEncoder().encode(
    `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
  );
  process.once("SIGTERM", () => listener.close());
  for await (const conn of listener) {
    void (async () => {
      const buffer = new Uint8Array(4096);
      await conn.read(buffer);
      await conn.write(new Uint8Array([...head, ...body]));
      await conn.closeWrite();
    })().catch(() => conn.close());
  }
}

/** Starts one copy of this file as an app process; resolves with its port once it listens. */
function start(port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, "app", String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (line) =>
      resolve({ child, port: Number(line.split(" ")[1]) }),
    );
    child.once("exit", (code) => reject(new Error(`an app process exited with ${code}`)));
  });
}

if (role === "app") {
  await app(Number(portArg));
} else {
  // The first process may ask for port 0; the others join the port it got.
  const first = await start(Number(portArg));
  const rest = await Promise.all(Array.from({ length: Number(countArg) - 1 }, () => start(first.port)));
  const children = [first, ...rest].map((started) => started.child);
  console.log(
    `listening on http://127.0.0.1:${first.port} (${children.length} processes: ${children.map((c) => c.pid).join(", ")})`,
  );
  const stop = (): void => {
    for (const child of children) child.kill("SIGTERM");
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
