// An app that imports nothing of reuseport: it prints the PORT it was given
// ("PORT=<value>", "PORT=undefined" for none) and serves the port named by
// its first argument, answering every request with its pid.
import http from "node:http";

console.log(`PORT=${process.env.PORT}`);
const server = http.createServer((_request, response) => response.end(String(process.pid)));
server.listen(Number(process.argv[2]), () => console.log(`listening ${JSON.stringify(server.address())}`));
