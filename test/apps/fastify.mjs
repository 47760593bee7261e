// An ordinary Fastify 5 app that imports nothing of reuseport: it listens
// on $PORT on every address, as Fastify's docs advise in containers. Each
// request takes about 20 ms and names the process that answered it.
import Fastify from "fastify";

const app = Fastify();
const workMs = Number(process.env.WORK_MS ?? 20);
const id = `${process.env.REUSEPORT_SLOT}-${process.env.REUSEPORT_GENERATION}-${process.pid}`;
app.get("/", async (_request, reply) => {
  await new Promise((resolve) => setTimeout(resolve, workMs));
  reply.type("text/plain").send(id);
});
await app.listen({ port: Number(process.env.PORT ?? 3000), host: "0.0.0.0" });
console.log(`fastify listening, pid ${process.pid}`);
