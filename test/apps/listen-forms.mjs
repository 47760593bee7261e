// An app that imports nothing of reuseport and listens in the form named by
// its first argument: `listen-forms.mjs <form> [host | port]`, on
// process.env.PORT (the only variable it reads, so that it runs under Deno's
// narrowest --allow-env); "host" listens on PORT and the host given,
// "elsewhere" on the port given. It prints "listening <address as
// JSON>" on 'listening', "callback" when the listen's own callback runs and
// "error <code>: <message>" on 'error'; it answers every request with its pid.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

const [form = "port", arg] = process.argv.slice(2);
const port = Number(process.env.PORT);
const callback = () => console.log("callback");

const answer = (_request, response) => {
  response.setHeader("content-type", "text/plain");
  response.end(String(process.pid));
};
const server =
  form === "net"
    ? net.createServer((socket) => {
        const body = String(process.pid);
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      })
    : form === "http2"
      ? http2.createServer(answer)
      : http.createServer(answer);
server.on("listening", () => console.log(`listening ${JSON.stringify(server.address())}`));
server.on("error", (error) => console.log(`error ${error.code}: ${error.message}`));

switch (form) {
  case "port":
  case "net":
  case "http2":
    server.listen(port);
    break;
  case "string":
    server.listen(String(port));
    break;
  case "ipv4-any":
    server.listen(port, "0.0.0.0", callback);
    break;
  case "ipv6-any":
    server.listen(port, "::", callback);
    break;
  case "backlog":
    server.listen(port, 511, callback);
    break;
  case "options":
    server.listen({ port, host: "0.0.0.0", backlog: 100 }, callback);
    break;
  case "options-port":
    server.listen({ port });
    break;
  case "host":
    server.listen(port, arg, callback);
    break;
  case "elsewhere":
    server.listen(Number(arg));
    break;
  default:
    throw new Error(`unknown form ${form}`);
}
