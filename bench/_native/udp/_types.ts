/** What a runtime's own UDP echo server reports once it is listening. */
export type NativeUdpEchoResult =
  /** Echoing on `port`, with `label` naming what was measured ("dgram.createSocket({ reusePort })"). */
  | { readonly port: number; readonly label: string }
  /** This runtime's own UDP socket cannot make a group of that many sockets, and why. */
  | { readonly unavailable: string };

/** A runtime's own UDP socket as an echo server: the baseline the UDP benchmark compares against. */
export interface NativeUdpEcho {
  /**
   * Opens `sockets` UDP sockets on one 127.0.0.1 port, in a reuseport group
   * when the runtime has one, and echoes every datagram back to its sender.
   */
  echo(sockets: number): Promise<NativeUdpEchoResult>;
}
