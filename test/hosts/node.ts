import { createServer } from "node:http";
import { Server } from "node:net";
import type { Host, Served } from "./_types.ts";

/** Node's http server on an fd; Deno's node:http does the same. */
export async function serveFdWithNodeHttp(fd: number, id: string): Promise<Served> {
  const server = createServer((_request, response) => {
    response.setHeader("connection", "close");
    response.end(id);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ fd }, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    // http.Server.close() also closes connections that have not sent a
    // request yet (Node 19+), which a reload would lose: stop only the
    // listening handle (net.Server's close) and let open ones finish.
    drain: () => new Promise<void>((resolve) => Server.prototype.close.call(server, () => resolve())),
  };
}

export const host: Host = {
  runtime: "node",
  serveFd: serveFdWithNodeHttp,
  // execArgv carries loader flags such as `--import tsx` on Node 20.
  command: (script, args) => [process.execPath, ...process.execArgv, script, ...args],
};
