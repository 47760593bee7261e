import { createSocket, type Socket } from "node:dgram";
import type { NativeUdpEcho } from "./_types.ts";

// dgram gained reusePort in Node 22.12 / 23.1; older versions ignore the option.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const hasReusePort = major > 22 || (major === 22 && minor >= 12);

function bind(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: "udp4", ...(hasReusePort ? { reusePort: true } : {}) });
    socket.once("error", reject);
    socket.bind({ address: "127.0.0.1", port }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

function echo(socket: Socket): void {
  socket.on("message", (message, from) => socket.send(message, from.port, from.address));
  socket.on("error", () => {});
}

export const native: NativeUdpEcho = {
  async echo(sockets) {
    if (sockets > 1 && !hasReusePort) return { unavailable: `dgram has no reusePort on Node ${process.version}` };
    const first = await bind(0);
    const { port } = first.address();
    const group = [first];
    for (let i = 1; i < sockets; i++) group.push(await bind(port));
    for (const socket of group) echo(socket);
    return {
      port,
      label: hasReusePort ? "dgram.createSocket({ reusePort })" : "dgram.createSocket() (no reusePort here)",
    };
  },
};
