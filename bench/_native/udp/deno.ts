import type { NativeUdpEcho } from "./_types.ts";

/** Deno.listenDatagram's UDP options with `reusePort`, which Deno's types do not declare for UDP. */
type Options = Deno.UdpListenOptions & { transport: "udp"; reusePort?: boolean };
const options: Options = { transport: "udp", hostname: "127.0.0.1", port: 0, reusePort: true };

/** Whether a second socket may bind the port of one opened with `reusePort`, found by trying. */
function groups(): boolean {
  const first = Deno.listenDatagram(options);
  try {
    Deno.listenDatagram({ ...options, port: (first.addr as Deno.NetAddr).port }).close();
    return true;
  } catch {
    return false;
  } finally {
    first.close();
  }
}

async function echo(conn: Deno.DatagramConn): Promise<void> {
  for (;;) {
    try {
      for await (const [data, from] of conn) await conn.send(data, from);
      return;
    } catch {
      // a sender that went away: carry on
    }
  }
}

export const native: NativeUdpEcho = {
  async echo(sockets) {
    const grouped = groups();
    if (sockets > 1 && !grouped) return { unavailable: "Deno.listenDatagram ignores reusePort for UDP" };
    const first = Deno.listenDatagram(options);
    const { port } = first.addr as Deno.NetAddr;
    const group = [first];
    for (let i = 1; i < sockets; i++) group.push(Deno.listenDatagram({ ...options, port }));
    for (const conn of group) void echo(conn);
    return {
      port,
      label: grouped ? "Deno.listenDatagram({ reusePort })" : "Deno.listenDatagram() (reusePort is ignored for UDP)",
    };
  },
};
