import assert from "node:assert/strict";
import type { Context } from "./_scenario.ts";
import { openFds } from "./_util.ts";

/** Asserts that `fn` throws a SocketError with this code (and reason), and returns it. */
export function expectSocketError(
  ctx: Context,
  fn: () => unknown,
  code: string,
  reason?: string,
): InstanceType<Context["lib"]["SocketError"]> {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ctx.lib.SocketError, `expected SocketError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(typeof error.errno, "number");
    if (reason !== undefined) assert.equal(error.reason, reason, error.message);
    return error;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

/** Runs `fn` and asserts the process has exactly as many fds after as before. */
export function withoutFdLeak(fn: () => void): void {
  const before = openFds();
  fn();
  const after = openFds();
  const changed = [...new Set([...before.keys(), ...after.keys()])]
    .filter((fd) => before.get(fd) !== after.get(fd))
    .map((fd) => `fd ${fd}: ${before.get(fd) ?? "-"} -> ${after.get(fd) ?? "-"}`);
  assert.deepEqual(changed, [], "open fds changed");
}

/** Asserts that each of `ids` answered more than `share` of `total`. */
export function assertSpread(counts: Map<string, number>, ids: readonly string[], total: number, share = 0.1): void {
  const summary = JSON.stringify(Object.fromEntries(counts));
  assert.equal(
    [...counts.values()].reduce((a, b) => a + b, 0),
    total,
    summary,
  );
  for (const id of ids) assert.ok((counts.get(id) ?? 0) > total * share, `socket ${id} got too few: ${summary}`);
}
