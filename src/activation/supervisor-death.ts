import type { Sys } from "../ffi/sys.ts";
import { errnoName } from "../socket/errors.ts";

/**
 * What {@link endWithSupervisor} found: "armed", the kernel sends SIGTERM
 * when the supervisor dies; "gone", it had died already and SIGTERM was
 * raised; "elsewhere", the supervisor lives but is not the parent (an app a
 * shell started as its child), so nothing was set; "unsupported", no
 * prctl(2) here; "none", not a supervised worker.
 */
export type SupervisorWatch = "armed" | "gone" | "elsewhere" | "unsupported" | "none";

/**
 * A worker of `reuseport run` ends with its supervisor, as nginx's workers
 * are ended by their master's manager: a supervisor killed with SIGKILL
 * (or crashing) cannot stop its workers, which would keep serving its
 * sockets with no one to restart, reload or stop them. So once a worker
 * says it is ready, it asks the kernel (PR_SET_PDEATHSIG) for SIGTERM when
 * its parent dies, and the runtime's SIGTERM handling drains it as a stop
 * would. `supervisorPid` is REUSEPORT_SUPERVISOR_PID, set by the supervisor.
 */
export function endWithSupervisor(sys: Sys, supervisorPid: string | undefined): SupervisorWatch {
  const pid = Number(supervisorPid);
  if (supervisorPid === undefined || !Number.isInteger(pid) || pid <= 1) return "none";
  const c = sys.platform.constants;
  if (sys.prctl === undefined || c.PR_SET_PDEATHSIG === undefined) return "unsupported";
  const gone = (): SupervisorWatch => {
    sys.raise(c.SIGTERM);
    return "gone";
  };
  if (sys.getppid() !== pid) {
    // Its parent is another process: the supervisor died before now (the worker was reparented), or it
    // started something that started this one. Only the first is the supervisor's death.
    return errnoName(sys, -sys.kill(pid, 0)) === "ESRCH" ? gone() : "elsewhere";
  }
  sys.prctl(c.PR_SET_PDEATHSIG, c.SIGTERM);
  // A death between getppid() and prctl() sends nothing: look again.
  return sys.getppid() === pid ? "armed" : gone();
}
