const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * An async iterator over `next()` that ends, instead of throwing, when
 * `next()` rejects with an error that `isClosed` recognises. Written out
 * rather than as an async generator: one promise per item instead of a
 * generator's chain, on the per-connection and per-datagram paths.
 */
export function iterateUntilClosed<T>(
  next: () => Promise<T>,
  isClosed: (error: unknown) => boolean,
): AsyncIterableIterator<T, undefined> {
  const step = (value: T): IteratorYieldResult<T> => ({ value, done: false });
  const stop = (error: unknown): IteratorReturnResult<undefined> => {
    if (isClosed(error)) return DONE;
    throw error;
  };
  const iterator: AsyncIterableIterator<T, undefined> = {
    next: () => next().then(step, stop),
    return: async () => DONE,
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
