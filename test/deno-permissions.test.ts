import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { root } from "./_runtimes.ts";

const deno = join(root, "node_modules/.bin/deno");
const program = `import { openSocket } from "${join(root, "mod.ts")}";
const socket = openSocket({ hostname: "127.0.0.1", port: 0 });
console.log(socket.localAddr.port > 0 ? "opened" : "no port");
socket.close();`;

// `deno eval` grants every permission, so the program runs from a file.
const script = join(mkdtempSync(join(tmpdir(), "reuseport-deno-")), "open.ts");
writeFileSync(script, program);

function run(...flags: string[]): string {
  try {
    return execFileSync(deno, ["run", "--quiet", ...flags, script], { cwd: root, encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    return String((error as { stderr?: string }).stderr);
  }
}

test("Deno: --allow-ffi is the only permission openSocket needs", () => {
  expect(run("--no-prompt", "--allow-ffi").trim()).toBe("opened");
});

test("Deno: without --allow-ffi the error names the flag", () => {
  expect(run("--no-prompt")).toMatch(/reuseport calls libc through FFI: run Deno with --allow-ffi/);
});
