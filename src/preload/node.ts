/**
 * The worker preload for Node (`node --import reuseport/preload/node`), which
 * `reuseport run` adds to every Node worker: a listen on the supervisor's
 * port serves the socket it hands over, with no change to the app.
 * @module
 */
import { inheritedSockets, notifyReady, openSocket, sys } from "../node.ts";
import { preloadNodeNet } from "../runtime/node-preload.ts";

preloadNodeNet({ inheritedSockets, notifyReady, openSocket, sys }, true);
