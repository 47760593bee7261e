import { defineConformance } from "./conformance/_define.ts";

defineConformance("node26");
