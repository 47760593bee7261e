import type { AwaitingConn, Workload } from "../_http.ts";

/** A runtime's own way to open and close a listener, the baseline a benchmark compares against. */
export interface NativeListen {
  /** What is measured, for the table ("Bun.listen({ reusePort })"). */
  readonly label: string;
  /** Opens a TCP listener on 127.0.0.1, an ephemeral port, and closes it again. */
  openClose(): Promise<void> | void;
  /**
   * Serves a workload with the runtime's own listener: on 127.0.0.1 with
   * reusePort where it has it, or on `fd` (a library socket) when given.
   * Resolves with the port (0 when serving an fd).
   */
  serve(workload: Workload, fd?: number): Promise<number> | number;
  /**
   * The runtime's own listener with reusePort, each connection handed over
   * as a Deno.Conn-style object written for this bench with nothing else in
   * it: the least a promise-per-read API costs on this runtime. Resolves
   * with the port.
   */
  listenAwaiting(serve: (conn: AwaitingConn) => void): Promise<number> | number;
}
