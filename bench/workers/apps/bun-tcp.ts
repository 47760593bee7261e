// Bun.listen (Bun's own server that serves an fd) as a benchmark worker on
// the socket `reuseport run` hands it:  bun bun-tcp.ts inherited
// Raw TCP callbacks with the same answers as listen.ts.

import { inheritedSockets, notifyReady, openSocket } from "../../../src/bun.ts";
import { RequestCounter } from "../../_http.ts";
import { asksClose, burn, isSlow, rawResponse, SLOW_MS } from "./_respond.ts";

const inherited = inheritedSockets()[0]?.localAddr;
if (inherited === undefined) throw new Error("no socket was handed to this process");
const keepAlive = rawResponse(process.pid, false);
const close = rawResponse(process.pid, true);

interface State {
  counter: RequestCounter;
  closing: boolean | undefined;
}
// Bun.listen serves an fd at run time; bun-types does not declare the option.
const listenOnFd = Bun.listen as unknown as (options: {
  fd: number;
  socket: Bun.SocketHandler<State>;
}) => Bun.TCPSocketListener<State>;

const listener = listenOnFd({
  fd: openSocket({ hostname: inherited.hostname, port: inherited.port }).release(),
  socket: {
    open(socket) {
      socket.data = { counter: new RequestCounter(), closing: undefined };
    },
    data(socket, chunk) {
      const state = socket.data;
      state.closing ??= asksClose(chunk);
      if (isSlow(chunk)) burn(SLOW_MS);
      const requests = state.counter.count(chunk);
      if (requests === 0) return;
      if (state.closing) socket.end(close);
      else for (let i = 0; i < requests; i++) socket.write(keepAlive);
    },
  },
});
process.stdout.write("listening\n");
notifyReady();
process.once("SIGTERM", () => {
  listener.stop(false);
  setTimeout(() => process.exit(0), 1000);
});
