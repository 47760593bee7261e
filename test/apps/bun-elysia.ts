// An Elysia app as Elysia's docs write it (`.listen(port)`, over Bun.serve).
// It imports nothing of reuseport. Each request takes about 20 ms.
import { Elysia } from "elysia";

const workMs = Number(process.env.WORK_MS ?? 20);
const id = `${process.env.REUSEPORT_SLOT}-${process.env.REUSEPORT_GENERATION}-${process.pid}`;
new Elysia()
  .get("/", async () => {
    await Bun.sleep(workMs);
    return id;
  })
  .listen(Number(process.env.PORT ?? 3000));
