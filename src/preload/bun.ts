/**
 * The worker preload for Bun (`bun --preload …`), which `reuseport run` adds
 * to every Bun worker. Bun's node:http and node:net serve no inherited fd,
 * so a listen of theirs on the supervisor's port fails with an error that
 * says so, instead of binding a socket of its own. With `--self-bind`,
 * Bun.serve on a served port binds it with reusePort, joining the group.
 * @module
 */
import { inheritedSockets, notifyReady, openSocket, sys } from "../bun.ts";
import { hookBunServe } from "../runtime/bun.ts";
import { preloadNodeNet } from "../runtime/node-preload.ts";

hookBunServe(preloadNodeNet({ inheritedSockets, notifyReady, openSocket, sys }, false));
