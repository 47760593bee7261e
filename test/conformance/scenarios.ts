import type { Scenario } from "./_scenario.ts";
import { activationScenarios } from "./activation-scenarios.ts";
import { balanceScenarios } from "./balance-scenarios.ts";
import { clusterScenarios } from "./cluster-scenarios.ts";
import { datagramScenarios } from "./datagram-scenarios.ts";
import { listenerScenarios } from "./listener-scenarios.ts";
import { loadScenarios } from "./load-scenarios.ts";
import { metricsScenarios } from "./metrics-scenarios.ts";
import { pinningScenarios } from "./pinning-scenarios.ts";
import { socketScenarios } from "./socket-scenarios.ts";
import { steeringScenarios } from "./steering-scenarios.ts";
import { supervisorScenarios } from "./supervisor-scenarios.ts";

/** Every conformance scenario, in the order the runner runs them. */
export const scenarios: readonly Scenario[] = [
  ...socketScenarios,
  ...listenerScenarios("native"),
  ...loadScenarios("native"),
  ...listenerScenarios("accept4"),
  ...loadScenarios("accept4"),
  ...listenerScenarios("epoll"),
  ...loadScenarios("epoll"),
  ...listenerScenarios(),
  ...loadScenarios(),
  ...clusterScenarios,
  ...steeringScenarios,
  ...datagramScenarios,
  ...activationScenarios,
  ...supervisorScenarios,
  ...balanceScenarios,
  ...pinningScenarios,
  ...metricsScenarios,
];
