import type { Host } from "../hosts/_types.ts";
import type { Library } from "./_library.ts";

/** What a scenario receives: the library as this runtime's users import it, and the runtime's helpers. */
export interface Context {
  readonly lib: Library;
  readonly host: Host;
}

/** One conformance scenario, run unchanged on every runtime. */
export interface Scenario {
  readonly name: string;
  run(context: Context): Promise<void> | void;
}
