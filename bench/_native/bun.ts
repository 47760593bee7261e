import { RequestCounter, responses } from "../_http.ts";
import type { NativeListen } from "./_types.ts";

type Handlers = Bun.SocketHandler<RequestCounter | undefined>;
// Bun.listen honours reusePort at run time; bun-types declares it for Bun.connect only.
// It also serves an fd, which bun-types does not declare either.
const listen = Bun.listen as unknown as (
  options: { hostname: string; port: number; reusePort: boolean; socket: Handlers } | { fd: number; socket: Handlers },
) => Bun.TCPSocketListener<RequestCounter | undefined>;

export const native: NativeListen = {
  label: "Bun.listen({ reusePort })",
  openClose() {
    listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket: { data() {} } }).stop(true);
  },
  serve(workload, fd) {
    const socket: Handlers = {
      open(s) {
        s.setNoDelay(true);
        s.data = new RequestCounter();
      },
      data(s, chunk) {
        if (workload === "echo") {
          s.write(chunk);
          return;
        }
        const n = s.data?.count(chunk) ?? 0;
        if (n === 0) return;
        if (workload === "close") s.end(responses(n, workload));
        else s.write(responses(n, workload));
      },
    };
    if (fd !== undefined) {
      listen({ fd, socket });
      return 0;
    }
    return listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket }).port;
  },
};
