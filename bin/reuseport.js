#!/usr/bin/env node
// The `reuseport` command: Bun (bunx --bun, or bun itself) runs the Bun
// build, anything else the Node one.
if ("Bun" in globalThis) await import("../dist/cli-bun.js");
else await import("../dist/cli-node.js");
