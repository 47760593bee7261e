import { createServer } from "node:net";
import type { NativeListen } from "./_types.ts";

// net.Server gained reusePort in Node 22.12 / 23.1; older versions ignore the option.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const hasReusePort = major > 22 || (major === 22 && minor >= 12);

export const native: NativeListen = {
  label: hasReusePort ? "net.Server listen({ reusePort })" : "net.Server listen() (no reusePort here)",
  openClose: () =>
    new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port: 0, ...(hasReusePort ? { reusePort: true } : {}) }, () =>
        server.close(() => resolve()),
      );
    }),
};
