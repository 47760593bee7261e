#!/usr/bin/env node
// The `reuseport` command: Bun (bunx --bun, or bun itself) runs the Bun
// build, Deno (deno run -A npm:reuseport) the Deno one, anything else the
// Node one.
if ("Bun" in globalThis) await import("../dist/cli-bun.js");
else if ("Deno" in globalThis) await import("../dist/cli-deno.js");
else await import("../dist/cli-node.js");
