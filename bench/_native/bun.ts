import type { NativeListen } from "./_types.ts";

// Bun.listen honours reusePort at run time; bun-types declares it for Bun.connect only.
const listen = Bun.listen as unknown as (options: {
  hostname: string;
  port: number;
  reusePort: boolean;
  socket: Bun.SocketHandler<undefined>;
}) => Bun.TCPSocketListener<undefined>;

export const native: NativeListen = {
  label: "Bun.listen({ reusePort })",
  openClose() {
    listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket: { data() {} } }).stop(true);
  },
};
