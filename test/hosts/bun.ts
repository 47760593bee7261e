import type { Host, Served } from "./_types.ts";

// Bun.listen accepts an fd at run time; bun-types does not declare the option.
const listenOnFd = Bun.listen as unknown as (options: {
  fd: number;
  socket: Bun.SocketHandler<undefined>;
}) => Bun.TCPSocketListener<undefined>;

async function serveFd(fd: number, id: string): Promise<Served> {
  const response = `HTTP/1.1 200 OK\r\ncontent-length: ${id.length}\r\nconnection: close\r\n\r\n${id}`;
  let open = 0;
  let drained = (): void => {};
  const listener = listenOnFd({
    fd,
    socket: {
      open() {
        open++;
      },
      data(socket) {
        socket.end(response);
      },
      close() {
        if (--open === 0) drained();
      },
    },
  });
  return {
    close: async () => {
      listener.stop(true);
    },
    drain: () =>
      new Promise<void>((resolve) => {
        listener.stop(false);
        drained = resolve;
        if (open === 0) resolve();
      }),
  };
}

export const host: Host = {
  runtime: "bun",
  serveFd,
  command: (script, args) => [process.execPath, script, ...args],
};
