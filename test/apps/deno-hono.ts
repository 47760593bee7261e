// Hono on Deno.serve as Hono's docs write it. It imports nothing of
// reuseport. Each request takes about 20 ms and names the process.
import { Hono } from "hono";

const workMs = Number(Deno.env.get("WORK_MS") ?? 20);
const id = `${Deno.env.get("REUSEPORT_SLOT")}-${Deno.env.get("REUSEPORT_GENERATION")}-${Deno.pid}`;
const app = new Hono();
app.get("/", async (c) => {
  await new Promise((resolve) => setTimeout(resolve, workMs));
  return c.text(id);
});

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000) }, app.fetch);
