/** How a slot's failures turn into restart delays and a crash-loop verdict. */
export interface RestartPolicy {
  /** Failures within `windowMs` that make a slot crash-looping. */
  readonly failures: number;
  readonly windowMs: number;
}

/** The first restart waits this long; each failure in a row doubles it. */
const FIRST_DELAY_MS = 100;
/** The longest wait between restarts, crash-looping or not. */
const MAX_DELAY_MS = 30_000;
/** A worker that ran this long before failing starts the doubling over. */
const STABLE_MS = 10_000;

/** One slot's failure history. */
export class RestartTracker {
  readonly #policy: RestartPolicy;
  #times: number[] = [];
  #inARow = 0;

  constructor(policy: RestartPolicy) {
    this.#policy = policy;
  }

  /** Records a failure at `now` of a worker that ran `uptimeMs`; returns the delay before the next start. */
  failed(now: number, uptimeMs: number): number {
    if (uptimeMs >= STABLE_MS) this.#inARow = 0;
    this.#inARow++;
    this.#times = this.#times.filter((t) => now - t < this.#policy.windowMs);
    this.#times.push(now);
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.#inARow - 1));
  }

  /** Failures within the window ending at `now`. */
  recent(now: number): number {
    return this.#times.filter((t) => now - t < this.#policy.windowMs).length;
  }

  crashLooping(now: number): boolean {
    return this.recent(now) >= this.#policy.failures;
  }
}
