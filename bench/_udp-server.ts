// One UDP echo server on the runtime running this file, its sockets all on
// one 127.0.0.1 port. Prints "<port> <what is measured>" once listening, or
// "unavailable <why>" when the runtime cannot make the group.
//   _udp-server.ts <native|library> <sockets>
// native: the runtime's own UDP socket with reusePort (bench/_native/udp/);
// library: listenDatagram(), echoing with receiveMany() + sendMany().
import type { DatagramSocket } from "../src/node.ts";
import { loadForRuntime, runtimeName } from "../test/conformance/_library.ts";
import type { NativeUdpEcho } from "./_native/udp/_types.ts";

const [variant = "library", count = "1"] = process.argv.slice(2);
const sockets = Number(count);
if (!Number.isInteger(sockets) || sockets < 1) throw new Error(`sockets must be a positive integer, got ${count}`);

/** Answers each batch of datagrams with one batch of replies, the same bytes back to each sender. */
async function echo(socket: DatagramSocket): Promise<void> {
  for (;;) await socket.sendMany(await socket.receiveMany());
}

let line: string;
if (variant === "native") {
  const { native } = (await import(`./_native/udp/${runtimeName()}.ts`)) as { native: NativeUdpEcho };
  const result = await native.echo(sockets);
  line = "port" in result ? `${result.port} ${result.label}` : `unavailable ${result.unavailable}`;
} else {
  const { lib } = await loadForRuntime();
  const first = lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
  const group = [first];
  for (let i = 1; i < sockets; i++) group.push(lib.listenDatagram({ hostname: "127.0.0.1", port: first.addr.port }));
  for (const socket of group) void echo(socket);
  line = `${first.addr.port} listenDatagram(), receiveMany() + sendMany()`;
}
process.stdout.write(`${line}\n`);
