// Hono on Bun as Hono's docs write it: the app as Bun's default export. It
// imports nothing of reuseport. Each request takes about 20 ms.
import { Hono } from "hono";

const workMs = Number(process.env.WORK_MS ?? 20);
const id = `${process.env.REUSEPORT_SLOT}-${process.env.REUSEPORT_GENERATION}-${process.pid}`;
const app: Hono = new Hono();
app.get("/", async (c) => {
  await Bun.sleep(workMs);
  return c.text(id);
});

const server: { port: number; fetch: typeof app.fetch } = { port: Number(process.env.PORT ?? 3000), fetch: app.fetch };
export default server;
