// An ordinary Express 5 app as a benchmark worker, written as for a PaaS
// host: it imports nothing of reuseport and listens on PORT. Under
// `reuseport run` the preload makes its listen serve the supervisor's
// socket; under Node's cluster and PM2 the listen goes to their primary.
// It answers every request with "ok" and the x-worker header the load
// generator counts.
import express from "express";
import { WORKER_HEADER } from "./_respond.ts";

const app = express();
const worker = String(process.pid);
app.get("/", (_request, response) => {
  response.set(WORKER_HEADER, worker).type("text/plain").send("ok");
});
app.listen(Number(process.env.PORT ?? 3000), (error) => {
  if (error) {
    console.error(`express: ${error.message}`);
    process.exit(1);
  }
  console.log("listening");
});
