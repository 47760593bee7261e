// An ordinary Hono app on Hono's Node server (node:http underneath), which
// imports nothing of reuseport; on Deno it runs on Deno's node:http. Each
// request takes about 20 ms and names the process that answered it.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
const workMs = Number(process.env.WORK_MS ?? 20);
const id = `${process.env.REUSEPORT_SLOT}-${process.env.REUSEPORT_GENERATION}-${process.pid}`;
app.get("/", async (c) => {
  await new Promise((resolve) => setTimeout(resolve, workMs));
  return c.text(id);
});
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, (info) => {
  console.log(`hono listening on ${info.port}, pid ${process.pid}`);
});
