// Measures, on the runtime running it, µs per openSocket()+close() and per
// native listen+close, interleaved round by round so both see the same
// machine state. Prints one JSON line.

import { loadForRuntime, runtimeName } from "../test/conformance/_library.ts";
import type { NativeListen } from "./_native/_types.ts";

const ROUNDS = 7;
const PER_ROUND = 1000;

async function timeRound(fn: () => Promise<void> | void): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < PER_ROUND; i++) await fn();
  return ((performance.now() - started) * 1000) / PER_ROUND;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const { lib } = await loadForRuntime();
const { native } = (await import(`./_native/${runtimeName()}.ts`)) as { native: NativeListen };
const library = (): void => lib.openSocket({ hostname: "127.0.0.1", port: 0 }).close();

await timeRound(library); // warm-up: loads libc, JIT-compiles both paths
await timeRound(native.openClose);
const libraryUs: number[] = [];
const nativeUs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  libraryUs.push(await timeRound(library));
  nativeUs.push(await timeRound(native.openClose));
}
process.stdout.write(
  `${JSON.stringify({ library: median(libraryUs), native: median(nativeUs), nativeLabel: native.label })}\n`,
);
