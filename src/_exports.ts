// The names every runtime entry re-exports unchanged.
export type { Api } from "./_api.ts";
export type {
  ArchName,
  Constants,
  EpollConstants,
  Field,
  Layouts,
  OsName,
  PlatformTable,
  SockaddrLayout,
} from "./ffi/_platform.ts";
export { platformTable } from "./ffi/platforms.ts";
export type { FdWatch } from "./ffi/readiness.ts";
export type { Sys } from "./ffi/sys.ts";
export type { PortGroup, PortProblem, PortReport, PortSocket, SocketOwner } from "./inspect/inspect.ts";
export {
  type AddressInUseReason,
  DatagramSocketClosedError,
  InheritedSocketError,
  type InheritedSocketReason,
  ListenerClosedError,
  type SendFailure,
  SendManyError,
  SocketError,
  type SocketErrorDetails,
  TruncatedDatagramError,
} from "./socket/errors.ts";
export { ancillary, type CbpfInstruction, CbpfProgramError, cbpf } from "./steer/cbpf.ts";
export type { SteeringPolicy } from "./steer/steer.ts";
export type {
  GroupAddress,
  MetricsEndpoint,
  ReloadResult,
  SlotSocket,
  SteerOptions,
  SteerPolicyName,
  SuperviseOptions,
  Supervisor,
  SupervisorEvent,
  WorkerCommand,
  WorkerExit,
  WorkerInfo,
  WorkerOutputLine,
  WorkerRuntime,
  WorkerState,
} from "./supervisor/types.ts";
export type {
  AcceptedSocket,
  Conn,
  Datagram,
  DatagramOptions,
  DatagramSocket,
  DatagramSocketStats,
  DatagramTarget,
  Engine,
  Family,
  InheritedSocket,
  Listener,
  ListenerStats,
  ListenOptions,
  NetAddr,
  RawSocket,
  ReceiveManyOptions,
  ReceiveOptions,
  SocketOptions,
  SocketStats,
  Transport,
} from "./types.ts";
