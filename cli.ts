/**
 * The `reuseport` command for Deno: `deno run -A jsr:@reuseport/reuseport/cli run --port 8080 app.ts`.
 * @module
 */
import "./src/cli/deno.ts";
