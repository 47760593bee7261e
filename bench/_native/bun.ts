import type { NativeListen } from "./_types.ts";

export const native: NativeListen = {
  label: "Bun.listen({ reusePort })",
  openClose() {
    Bun.listen({ hostname: "127.0.0.1", port: 0, reusePort: true, socket: { data() {} } }).stop(true);
  },
};
