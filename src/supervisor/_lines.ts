/**
 * Splits a byte stream into whole lines, so two workers' output never
 * interleaves within a line. A line longer than `maxLength` is passed on
 * in pieces rather than held without bound.
 */
export class LineSplitter {
  readonly #decoder = new TextDecoder();
  readonly #onLine: (line: string) => void;
  readonly #maxLength: number;
  #pending = "";

  constructor(onLine: (line: string) => void, maxLength: number = 64 * 1024) {
    this.#onLine = onLine;
    this.#maxLength = maxLength;
  }

  push(chunk: Uint8Array): void {
    let text = this.#pending + this.#decoder.decode(chunk, { stream: true });
    let end = text.indexOf("\n");
    while (end !== -1) {
      this.#onLine(text.slice(0, end).replace(/\r$/, ""));
      text = text.slice(end + 1);
      end = text.indexOf("\n");
    }
    while (text.length > this.#maxLength) {
      this.#onLine(text.slice(0, this.#maxLength));
      text = text.slice(this.#maxLength);
    }
    this.#pending = text;
  }

  /** Passes on what is left of an unfinished last line. */
  end(): void {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = "";
    if (rest !== "") this.#onLine(rest);
  }
}
