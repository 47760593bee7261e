// An unchanged Deno.serve app, for `deno run`: deno-unchanged.ts's handler
// on PORT (which `reuseport run` sets; the preload, with --self-bind, binds
// it with reusePort on the served address). It imports nothing of reuseport.
import app from "./deno-unchanged.ts";

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000) }, app.fetch);
