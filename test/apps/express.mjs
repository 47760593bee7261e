// An ordinary Express 5 app, as written for a PaaS host: it imports nothing
// of reuseport. Each request takes about 20 ms (so a careless stop has
// something to lose) and names the process that answered it. With
// EXIT_ON_SIGTERM=1 it has a SIGTERM handler of its own that exits at once,
// as a careless app might: the preload then leaves the stop to it. At exit
// it says how many requests it received and how many it answered.
import express from "express";

const app = express();
let received = 0;
let answered = 0;
app.use((_request, response, next) => {
  received++;
  response.on("finish", () => answered++);
  next();
});
process.on("exit", () => console.log(`express: received ${received} answered ${answered}`));
const workMs = Number(process.env.WORK_MS ?? 20);
const id = `${process.env.REUSEPORT_SLOT}-${process.env.REUSEPORT_GENERATION}-${process.pid}`;
app.get("/", (_request, response) => {
  setTimeout(() => response.type("text/plain").send(id), workMs);
});
if (process.env.EXIT_ON_SIGTERM === "1") process.on("SIGTERM", () => process.exit(0));
app.listen(Number(process.env.PORT ?? 3000), (error) => {
  if (error) {
    console.error(`express: ${error.message}`);
    return;
  }
  console.log(`express listening, pid ${process.pid}`);
});
