import type { NativeUdpEcho } from "./_types.ts";

type Socket = Bun.udp.Socket<"uint8array">;
/**
 * Bun.udpSocket's options as tried here: `reusePort` (not declared by
 * bun-types), and `flags`, the undeclared bit set through which Bun's own
 * node:dgram asks for SO_REUSEPORT.
 */
type Options = Bun.udp.SocketOptions<"uint8array"> & { reusePort?: boolean; flags?: number };
const udpSocket = Bun.udpSocket as unknown as (options: Options) => Promise<Socket>;

/** LISTEN_REUSE_PORT in the `flags` Bun's node:dgram passes to Bun.udpSocket. */
const LISTEN_REUSE_PORT = 4;

const ways: { label: string; options: Partial<Options> }[] = [
  { label: "Bun.udpSocket({ reusePort })", options: { reusePort: true } },
  {
    label: "Bun.udpSocket({ flags: LISTEN_REUSE_PORT }) (reusePort is ignored; node:dgram's way)",
    options: { flags: LISTEN_REUSE_PORT },
  },
];

/** The first way to open a socket that lets a second one bind the same port, found by trying. */
async function groupingWay(): Promise<{ label: string; options: Partial<Options> } | undefined> {
  for (const way of ways) {
    const first = await udpSocket({ hostname: "127.0.0.1", port: 0, ...way.options });
    try {
      (await udpSocket({ hostname: "127.0.0.1", port: first.port, ...way.options })).close();
      return way;
    } catch {
      // EADDRINUSE: this way makes no group
    } finally {
      first.close();
    }
  }
  return undefined;
}

/**
 * Echoes with sendMany: Bun reads datagrams with recvmmsg and calls `data`
 * for each, draining microtasks in between, so replies are gathered and sent
 * in one sendMany per event-loop turn (setImmediate). What the socket buffer
 * cannot take waits for `drain`.
 */
function echoHandlers(): Bun.udp.SocketHandler<"uint8array"> {
  const pending = new Map<Socket, (Uint8Array | number | string)[]>();
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    for (const [socket, packets] of pending) {
      const sent = socket.sendMany(packets);
      if (sent * 3 >= packets.length) pending.delete(socket);
      else packets.splice(0, sent * 3);
    }
  };
  return {
    data(socket, data, port, address) {
      let packets = pending.get(socket);
      if (packets === undefined) {
        packets = [];
        pending.set(socket, packets);
      }
      packets.push(data, port, address);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    drain: flush,
    // An ICMP error from a sender that went away (Bun sets IP_RECVERR): nothing to do.
    error() {},
  };
}

export const native: NativeUdpEcho = {
  async echo(sockets) {
    const way = await groupingWay();
    if (sockets > 1 && way === undefined) return { unavailable: "Bun.udpSocket makes no reuseport group here" };
    const options: Options = { hostname: "127.0.0.1", port: 0, binaryType: "uint8array", ...way?.options };
    const socket = echoHandlers();
    const first = await udpSocket({ ...options, socket });
    for (let i = 1; i < sockets; i++) await udpSocket({ ...options, port: first.port, socket });
    return { port: first.port, label: way?.label ?? "Bun.udpSocket() (no reusePort here)" };
  },
};
