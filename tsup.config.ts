import { defineConfig } from "tsup";

// Node gets ESM + CJS; Bun gets ESM with bun:ffi left as a runtime import.
// Deno needs no build: it imports mod.ts and the .ts sources directly.
export default defineConfig([
  {
    entry: { node: "src/node.ts" },
    format: ["esm", "cjs"],
    dts: true,
    clean: true,
    target: "node20",
    platform: "node",
    external: ["koffi"],
  },
  {
    entry: { bun: "src/bun.ts" },
    format: ["esm"],
    dts: { compilerOptions: { types: ["bun-types"] } },
    target: "esnext",
    platform: "node",
    external: ["bun:ffi"],
  },
  // The `reuseport` command, one build per runtime; bin/reuseport.js picks one.
  {
    entry: { "cli-node": "src/cli/node.ts" },
    format: ["esm"],
    target: "node20",
    platform: "node",
    external: ["koffi"],
  },
  {
    entry: { "cli-bun": "src/cli/bun.ts" },
    format: ["esm"],
    target: "esnext",
    platform: "node",
    external: ["bun:ffi"],
  },
]);
