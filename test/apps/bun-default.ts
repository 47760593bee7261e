// A plain Bun server as Bun's docs write it: a default export that Bun
// serves itself (on PORT, which the supervisor sets). It imports nothing of
// reuseport. Each request takes about 20 ms and names the process.
const workMs = Number(process.env.WORK_MS ?? 20);
const id = `${process.env.REUSEPORT_SLOT}-${process.env.REUSEPORT_GENERATION}-${process.pid}`;

export default {
  async fetch(): Promise<Response> {
    await Bun.sleep(workMs);
    return new Response(id);
  },
};
