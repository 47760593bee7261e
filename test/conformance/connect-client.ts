// Opens <count> TCP connections to 127.0.0.1:<port> at once, waits until all
// are connected, then exits. Run under taskset by the steering scenarios, so
// that the kernel handles its SYNs on one CPU.
//   connect-client.ts <port> <count>
import { connect } from "node:net";

const [port = "0", count = "1"] = process.argv.slice(2);
const sockets = await Promise.all(
  Array.from(
    { length: Number(count) },
    () =>
      new Promise<ReturnType<typeof connect>>((resolve, reject) => {
        const socket = connect(Number(port), "127.0.0.1", () => resolve(socket));
        socket.once("error", reject);
      }),
  ),
);
for (const socket of sockets) socket.destroy();
process.exit(0);
