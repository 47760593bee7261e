import type { Host, Served } from "./_types.ts";

type FdListenOptions = Parameters<typeof Bun.listen>[0] & { fd: number };

async function serveFd(fd: number, id: string): Promise<Served> {
  const response = `HTTP/1.1 200 OK\r\ncontent-length: ${id.length}\r\nconnection: close\r\n\r\n${id}`;
  const options = {
    fd,
    socket: {
      data(socket) {
        socket.end(response);
      },
    },
  } as FdListenOptions;
  const listener = Bun.listen(options);
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
