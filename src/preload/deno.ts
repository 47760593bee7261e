/**
 * The worker preload for Deno (`deno run --preload …`), which `reuseport run`
 * adds to every Deno worker: node:http and node:net servers on the
 * supervisor's port serve the socket it hands over; with `--self-bind`,
 * Deno.serve on a served port binds it with reusePort, joining the group.
 * @module
 */
import { inheritedSockets, notifyReady, openSocket, sys } from "../deno.ts";
import { hookDenoServe } from "../runtime/deno.ts";
import { preloadNodeNet } from "../runtime/node-preload.ts";

hookDenoServe(preloadNodeNet({ inheritedSockets, notifyReady, openSocket, sys }, true));
