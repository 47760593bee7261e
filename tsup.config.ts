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
]);
