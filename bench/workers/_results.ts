// What one run of `npm run bench:workers` measured: the driver fills it in,
// the report (RESULTS.md and its charts) is drawn from it alone, and
// BENCH_JSON writes it out so a report can be drawn again without a run.

/** The runtime (or program) a contender's workers run on. */
export type ContenderRuntime = "node20" | "node26" | "bun" | "deno" | "nginx" | "c";

/**
 * How a contender spreads connections over its workers:
 * - reuseport: `reuseport run`, one SO_REUSEPORT socket per worker held by the supervisor;
 * - cluster-rr / cluster-none: Node's cluster, its primary accepting and handing
 *   connections round-robin (SCHED_RR), or every worker accepting on one shared socket (SCHED_NONE);
 * - pm2: PM2's cluster mode (Node's cluster, round-robin, under PM2's daemon);
 * - native: the runtime's own `reusePort` option, workers started by hand;
 * - deno-parallel: `deno serve --parallel`, one Deno process whose threads accept on one shared socket;
 * - nginx: nginx with `reuseport`, a worker per CPU, a fixed body;
 * - single: one process, no workers: the floor.
 */
export type Family =
  | "reuseport"
  | "cluster-rr"
  | "cluster-none"
  | "pm2"
  | "native"
  | "deno-parallel"
  | "nginx"
  | "single";

export interface Contender {
  /** Stable and short, e.g. "reuseport-node20-listen"; used in file names and tables. */
  readonly id: string;
  /** What a reader sees, e.g. "reuseport run · Node 20 · listen()". */
  readonly label: string;
  readonly runtime: ContenderRuntime;
  readonly family: Family;
  /**
   * The server the workers run, e.g. "listen() (epoll engine)", "node:http", "Express 5": the cluster RR
   * reference is the one running the same server where there is one.
   */
  readonly server: string;
}

/**
 * The load shapes:
 * - close: HTTP/1.1 connection per request (wrk, `Connection: close`);
 * - keepalive: HTTP/1.1 keep-alive (wrk);
 * - burst: 10,000 connections opened at once, a request on each;
 * - cpu-heavy: connection per request where 1 request in 20 burns 50 ms of CPU.
 */
export type Workload = "close" | "keepalive" | "burst" | "cpu-heavy";

/** One timed load run against one contender. */
export interface LoadSample {
  /** Requests answered with a 200. */
  readonly requests: number;
  /** Requests that failed: connect, read or write errors, timeouts, non-200 answers. */
  readonly failed: number;
  readonly seconds: number;
  /** requests / seconds. */
  readonly rps: number;
  /** Server CPU (every worker and any master, user + system) per answered request, µs. */
  readonly cpuUsPerRequest: number;
  /** Latency percentiles, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** Requests each worker answered, from the busiest down, when the run could tell (else empty). */
  readonly perWorker: readonly number[];
  /** The failures by kind (wrk's socket errors: connect, read, write, timeout; status: a non-200 answer). */
  readonly errors?: Readonly<Record<string, number>>;
}

/** One paced run at a low rate, counting how often workers woke for a connection. */
export interface WakeupSample {
  /** Connections the workers (or the master) accepted. */
  readonly accepted: number;
  /**
   * Wake-ups to accept: runs of accept()/accept4() calls by one thread with
   * no wait (epoll, poll, futex) between them, i.e. a thread woken for the
   * listening socket taking what it finds. One per connection without a
   * thundering herd; near the number of workers when every worker wakes.
   */
  readonly acceptWakeups: number;
  /** accept()/accept4() calls that returned EAGAIN: a process woken for a connection another took, or an accept loop's last try. */
  readonly futileAccepts: number;
  /** Voluntary context switches of every worker and master thread over the run, less their idle rate: all the sleeping and waking a connection costs. */
  readonly voluntarySwitches: number;
}

/** Connection-per-request at a steady rate across a number of reloads. */
export interface ReloadSample {
  readonly reloads: number;
  readonly ok: number;
  readonly failed: number;
  /** Failures by kind (ECONNRESET, ECONNREFUSED, timeout, empty-response, …). */
  readonly errors: Readonly<Record<string, number>>;
  /** How the reload was asked for, e.g. "SIGHUP to the supervisor", "pm2 reload". */
  readonly how: string;
}

/** A target of the benchmark's issue, judged on this run's medians. */
export interface Target {
  readonly name: string;
  /** null: not judged (a smoke run, or a figure the run could not measure). */
  readonly met: boolean | null;
  /** The figures it was judged on, and by how much it was missed. */
  readonly detail: string;
}

export interface Results {
  /** The command line that produced the run. */
  readonly command: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly smoke: boolean;
  /** Rounds per cell (contenders alternating within each round). */
  readonly rounds: number;
  readonly secondsPerRun: number;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly kernel: string;
    readonly memoryGiB: number;
  };
  /** e.g. { node20: "20.20.2", node26: "26.10.0", bun: "1.4.5", deno: "2.9.6", nginx: "1.22.1", pm2: "7.0.4", wrk: "4.2.0" }. */
  readonly versions: Readonly<Record<string, string>>;
  readonly contenders: readonly Contender[];
  /** Worker processes per contender for the load workloads (2: one per CPU). */
  readonly workers: number;
  readonly load: readonly {
    readonly contender: string;
    readonly workload: Workload;
    readonly samples: readonly LoadSample[];
  }[];
  readonly wakeups: readonly {
    readonly contender: string;
    readonly workers: number;
    readonly samples: readonly WakeupSample[];
  }[];
  readonly reloads: readonly { readonly contender: string; readonly sample: ReloadSample }[];
  /**
   * Connection-per-request runs made after the rounds for the balance
   * figures only, where a contender's rounds counted fewer connections than
   * the CV target asks for: each worker's count, and how long the run was.
   */
  readonly balanceRuns: readonly {
    readonly contender: string;
    readonly seconds: number;
    readonly perWorker: readonly number[];
  }[];
  readonly targets: readonly Target[];
  /** Things the reader should know about this run (a contender that could not start, why a figure is missing). */
  readonly notes: readonly string[];
}
