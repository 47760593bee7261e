// Bun reports its platform the Node way (process.platform, process.arch).
export { hostPlatform } from "./node.ts";
