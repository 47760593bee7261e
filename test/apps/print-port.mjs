// An app that imports nothing of reuseport: it prints the PORT it was given
// ("PORT=<value>", "PORT=undefined" for none) and serves every port named by
// its arguments, answering every request with its pid.
import http from "node:http";

console.log(`PORT=${process.env.PORT}`);
for (const port of process.argv.slice(2)) {
  const server = http.createServer((_request, response) => response.end(String(process.pid)));
  server.listen(Number(port), () => console.log(`listening ${JSON.stringify(server.address())}`));
}
