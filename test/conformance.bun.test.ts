import { defineConformance } from "./conformance/_define.ts";

defineConformance("bun");
