// The input side of the bench's library-free Deno.Conn-style servers (the
// floor column), shared by the Node and Bun versions.

/**
 * Chunks from a runtime's callbacks, taken by `read()` into the caller's
 * buffer. No read-ahead limit: the floor does the least such an API can.
 */
export class AwaitingInput {
  #chunks: Uint8Array[] = [];
  #ended = false;
  #reader: ((chunk: Uint8Array | null) => void) | undefined;

  /** A chunk from the runtime: to the waiting read, or queued. */
  push(chunk: Uint8Array): void {
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader) reader(chunk);
    else this.#chunks.push(chunk);
  }

  /** The peer's FIN, or the socket is gone: reads resolve null once the queue is empty. */
  end(): void {
    this.#ended = true;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.(null);
  }

  read(buffer: Uint8Array): Promise<number | null> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) return Promise.resolve(this.#copy(chunk, buffer));
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#reader = (next) => resolve(this.#copy(next, buffer));
    });
  }

  #copy(chunk: Uint8Array | null, buffer: Uint8Array): number | null {
    if (chunk === null) return null;
    if (chunk.length > buffer.length) {
      this.#chunks.unshift(chunk.subarray(buffer.length));
      chunk = chunk.subarray(0, buffer.length);
    }
    buffer.set(chunk);
    return chunk.length;
  }
}
