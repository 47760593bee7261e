import type { Workload } from "../_http.ts";

/** A runtime's own way to open and close a listener, the baseline a benchmark compares against. */
export interface NativeListen {
  /** What is measured, for the table ("Bun.listen({ reusePort })"). */
  readonly label: string;
  /** Opens a TCP listener on 127.0.0.1, an ephemeral port, and closes it again. */
  openClose(): Promise<void> | void;
  /** Serves a workload on 127.0.0.1 with the runtime's own listener (reusePort where it has it); resolves with the port. */
  serve(workload: Workload): Promise<number> | number;
}
