/** What a scenario needs from the runtime it runs on, beyond the library. */
export interface Host {
  readonly runtime: "node" | "bun" | "deno";
  /**
   * Serves HTTP on an already listening fd with the runtime's own server
   * (Node/Deno: http.createServer().listen({ fd }); Bun: Bun.listen({ fd })),
   * answering every request with `id` as the body. The server owns the fd.
   */
  serveFd(fd: number, id: string): Promise<Served>;
  /** argv that runs a TypeScript file on this same runtime, flags included. */
  command(script: string, args: readonly string[]): string[];
}

export interface Served {
  /** Stops at once, dropping open connections. */
  close(): Promise<void>;
  /** Stops accepting and resolves once every open connection has ended (a graceful stop). */
  drain(): Promise<void>;
}
