/**
 * The worker preload for Deno (`deno run --preload …`), which `reuseport run`
 * adds to every Deno worker: node:http and node:net servers on the
 * supervisor's port serve the socket it hands over.
 * @module
 */
import { inheritedSockets, notifyReady, openSocket, sys } from "../deno.ts";
import { preloadNodeNet } from "../runtime/node-preload.ts";

preloadNodeNet({ inheritedSockets, notifyReady, openSocket, sys }, true);
