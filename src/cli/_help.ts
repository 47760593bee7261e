/** `reuseport --help`. */
export const MAIN_HELP = `reuseport: many worker processes on one port, with SO_REUSEPORT.

Usage:
  reuseport run [options] <app> [app args...]   start a supervisor and its workers
  reuseport status [name] [--json|--prometheus] list a running supervisor's workers (and
                                                their sockets' queues), as a table, JSON or
                                                Prometheus text
  reuseport reload [name]                       start a new generation, then stop the old one
  reuseport scale <n> [name]                    change the number of workers
  reuseport stop [name]                         stop gracefully
  reuseport inspect <port> [--json]             every socket bound to the port on this host,
                                                grouped, with owners, queues and problems

A supervisor is found by name (default: its app's file name without extension)
through a control socket in a directory only its user can enter.
Run "reuseport run --help" for the options of run.
`;

/** `reuseport run --help`. */
export const RUN_HELP = `Usage: reuseport run [options] <app> [app args...]

Starts <app> in --workers processes that share the listed ports. The
supervisor opens one SO_REUSEPORT socket per worker slot per address and
keeps every one open for its whole life; worker i gets slot i's sockets at
fd 3 onward, announced with systemd's LISTEN_FDS, LISTEN_FDNAMES and
LISTEN_PID. A crash, a restart or a reload never changes the group: nothing
queued in the kernel is reset.

The app runs unchanged: every worker starts with the library's preload
(--import on Node, --preload on Bun and Deno), which makes a listen on a
served port -- server.listen(3000), app.listen(process.env.PORT), Express,
Fastify, Koa, Hono's Node server -- serve the supervisor's socket, says the
worker is ready once it does, and on SIGTERM (unless the app handles it)
stops accepting, finishes the requests in flight and exits 0. Workers get
PORT, the first --port, unless it is set. A listen on the served port with
another host fails the worker with an error saying so. In an app that uses
the library, listen({ port }), listenDatagram({ port }) and openSocket({ port })
adopt the inherited socket themselves.

Options:
  -w, --workers <n>        worker slots (default: the number of CPUs)
  -p, --port <port>        a TCP port to serve; repeat for more. 0 picks a free one
  -H, --host <address>     the address of the --port at the same position
                           (default: the last --host given, or 0.0.0.0)
  -u, --udp-port <[host:]port>
                           a UDP port to serve; repeat for more (host default:
                           the first --host, or 0.0.0.0)
  -r, --runtime <name>     node, bun or deno (default: the runtime running
                           this command)
      --exec <path>        the runtime's executable (default: this one's for
                           its own runtime, otherwise the name on PATH)
      --runtime-args "<flags>"
                           flags for the workers' runtime, before the app
                           (e.g. "--import tsx"; Deno permissions). A Deno
                           worker gets --allow-ffi and --allow-env for the
                           variables the library reads, merged with the
                           flags given: nothing added to -A or -P, the
                           variables added to an --allow-env=... list; a
                           permission the app lacks fails that worker with
                           Deno's error
      --no-preload         start workers without the preload: the app adopts
                           its sockets through the library itself
  -g, --grace <seconds>    how long a stopping worker may finish its work
                           before SIGKILL (default 30)
      --ready-timeout <seconds>
                           how long a new worker may take to become ready;
                           later counts as a failure (default 30)
      --self-bind          workers bind their own sockets in the group (for
                           Bun.serve and Deno.serve, which cannot serve an
                           inherited fd: the preload binds them with
                           reusePort on the served address). The supervisor
                           keeps one member itself, its queue full, lets
                           workers join one at a time and steers new
                           connections to ready workers only, so a worker it
                           stops has an empty queue when its socket closes:
                           nothing is reset, without privilege. Without the
                           preload, a closing worker's queued connections
                           are reset unless net.ipv4.tcp_migrate_req is 1
      --tcp-migrate-req    turn net.ipv4.tcp_migrate_req on for this network
                           namespace (as root). In the root namespace that is
                           a host-wide setting, so it is only written when
                           asked for, and never turned back
      --steer <policy>     how the kernel picks a worker for each connection:
                           hash   its own hash of the addresses (the default)
                           cpu    worker i gets what CPU i received (modulo
                                  the number of workers)
                           queue  new TCP connections go to the workers with
                                  the shortest accept queues, sampled every
                                  5 ms (all while the queues are equal)
                           stall-aware  a worker whose queue holds
                                  connections for --stall-ms without it
                                  accepting any gets no new ones until it has
                                  emptied its queue
                           (UDP groups keep the hash with queue and
                           stall-aware.) Removing workers (scale, SIGTTOU)
                           steers new connections away from them first, so
                           nothing queued on them is reset.
      --stall-ms <ms>      with --steer stall-aware: how long a queue must
                           hold connections without shrinking (default 100)
      --shared-socket      every worker serves one socket per address (one
                           accept queue, whichever worker is free takes the
                           next connection; every waiting worker wakes for
                           each): a busy worker holds up nobody, as with
                           Node's cluster (SCHED_NONE) or nginx without
                           reuseport. Not with --steer or --self-bind
      --pin                pin worker i, every thread of it, to the (i mod n)th
                           of the n CPUs this command may run on, from its
                           first instruction and again on every restart,
                           reload and scale; with --steer cpu and as many
                           workers as CPUs, worker i then serves the
                           connections CPU i received, on CPU i (Linux)
      --metrics <[host:]port[/path]>
                           serve the metrics of status --prometheus over HTTP
                           for Prometheus to scrape: GET <path> (default
                           /metrics) on host (default 127.0.0.1, this host
                           only; [::1] for IPv6, 0.0.0.0 for every address).
                           0 picks a free port, printed at start. The port
                           is never shared: one in use is an error, before
                           any worker starts
      --name <name>        the name reuseport status/reload/scale/stop use,
                           and the metrics' name label (default: the app's
                           file name without extension)
  -h, --help               this text

Readiness: a worker is ready when it sends READY=1 to NOTIFY_SOCKET
(notifyReady() in the library; systemd's Type=notify protocol), which the
preload does once the app's servers serve every inherited TCP socket, and the
library once listen()/listenDatagram() serve every inherited socket. Apps that
hand the fd to their own server call notifyReady().

Signals: SIGTERM or SIGINT stops gracefully (a second one kills at once);
SIGHUP reloads; SIGTTIN adds a worker, SIGTTOU removes one.

Crashes: a worker that exits unasked is restarted on its slot after 0.1 s,
doubling to 30 s while it keeps failing; 5 failures within 60 s are reported
as a crash loop. The slot's socket keeps its queue meanwhile.

Exit status: 0 when every worker stopped cleanly, 1 otherwise, 2 for a usage
error.
`;
