import type { NativeListen } from "./_types.ts";

export const native: NativeListen = {
  label: "Deno.listen({ reusePort })",
  openClose() {
    Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true }).close();
  },
};
