// One worker of the dns-echo example: binds a UDP socket on 127.0.0.1:<port>
// in that port's SO_REUSEPORT group and answers every DNS query with its
// own question and a TXT record naming this worker ("worker 2 pid 1234").
// Queries are read with receiveMany() and answered with sendMany(), a
// batch per system call; malformed packets are dropped. Prints
// "ready <port>" once bound, and stops on SIGTERM, SIGINT or when stdin
// closes (Ctrl-D). launch.ts starts four of these; to run one alone (port 0 picks one):
//   node --import tsx examples/dns-echo/server.ts 5300 a     (Node 20)
//   node examples/dns-echo/server.ts 5300 a                  (Node 26)
//   bun examples/dns-echo/server.ts 5300 a
//   deno run --allow-ffi --allow-read examples/dns-echo/server.ts 5300 a
// and ask it: dig @127.0.0.1 -p 5300 hello.example TXT
import process from "node:process";
import type { Datagram, DatagramTarget } from "../../src/types.ts";
import { buildAnswer, parseQuery } from "./_dns.ts";
import { loadLibrary } from "./_lib.ts";

const [portArg = "0", name = "0"] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: server.ts <port> <worker name>; ${portArg} is not a port`);
  process.exit(2);
}

const { listenDatagram, DatagramSocketClosedError, TruncatedDatagramError } = await loadLibrary();

// Classic DNS over UDP stays within 512 bytes; a longer query arrives as a
// TruncatedDatagramError and is dropped.
const socket = listenDatagram({ hostname: "127.0.0.1", port, maxDatagramSize: 512, batchSize: 64 });
const text = `worker ${name} pid ${process.pid}`;

/** Closes the socket, which ends the loop below, and stops reading stdin so the process can exit. */
function stop(): void {
  socket.close();
  // pause(), not destroy(): Deno keeps a destroyed stdin's read going, and the process with it.
  process.stdin.pause();
}
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
process.stdin.once("end", stop);
process.stdin.resume();

console.log(`ready ${socket.addr.port}`);

for (;;) {
  let batch: Datagram[];
  try {
    batch = await socket.receiveMany();
  } catch (error) {
    if (error instanceof DatagramSocketClosedError) break;
    if (error instanceof TruncatedDatagramError) continue;
    throw error;
  }
  const answers: [Uint8Array, DatagramTarget][] = [];
  for (const [data, from] of batch) {
    const query = parseQuery(data);
    if (query !== undefined) answers.push([buildAnswer(query, text), from]);
  }
  try {
    await socket.sendMany(answers);
  } catch (error) {
    if (error instanceof DatagramSocketClosedError) break;
    // One unreachable client must not stop the others' answers.
    console.error(`worker ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
