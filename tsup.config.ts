import { defineConfig } from "tsup";

// Node gets ESM + CJS; Bun gets ESM with bun:ffi left as a runtime import.
// Deno from a URL or JSR imports mod.ts and the .ts sources directly; Deno
// resolving the npm package gets JavaScript (it strips no types under
// node_modules), with the Deno globals used at run time.
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
  {
    entry: { deno: "src/deno.ts" },
    format: ["esm"],
    target: "esnext",
    platform: "node",
    // node: kept on built-in modules, which Deno resolves in any file.
    removeNodeProtocol: false,
  },
  // The workers' preloads (`reuseport run` adds the one for the worker's runtime).
  {
    entry: { "preload/node": "src/preload/node.ts" },
    format: ["esm"],
    target: "node20",
    platform: "node",
    external: ["koffi"],
  },
  {
    entry: { "preload/bun": "src/preload/bun.ts" },
    format: ["esm"],
    target: "esnext",
    platform: "node",
    external: ["bun:ffi"],
  },
  {
    entry: { "preload/deno": "src/preload/deno.ts" },
    format: ["esm"],
    target: "esnext",
    platform: "node",
    removeNodeProtocol: false,
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
  {
    entry: { "cli-deno": "src/cli/deno.ts" },
    format: ["esm"],
    target: "esnext",
    platform: "node",
    // node: kept on built-in modules, which Deno resolves in any file.
    removeNodeProtocol: false,
  },
]);
