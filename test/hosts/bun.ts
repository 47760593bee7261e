import type { Host, Served } from "./_types.ts";

// Bun.listen accepts an fd at run time; bun-types does not declare the option.
const listenOnFd = Bun.listen as unknown as (options: {
  fd: number;
  socket: Bun.SocketHandler<undefined>;
}) => Bun.TCPSocketListener<undefined>;

async function serveFd(fd: number, id: string): Promise<Served> {
  const response = `HTTP/1.1 200 OK\r\ncontent-length: ${id.length}\r\nconnection: close\r\n\r\n${id}`;
  const listener = listenOnFd({
    fd,
    socket: {
      data(socket) {
        socket.end(response);
      },
    },
  });
  return {
    close: async () => {
      listener.stop(true);
    },
  };
}

export const host: Host = {
  runtime: "bun",
  serveFd,
  command: (script, args) => [process.execPath, script, ...args],
};
