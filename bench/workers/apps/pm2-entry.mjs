// PM2 starts JavaScript only (a .ts file needs a Node that strips types),
// so its cluster workers start here and load node-http.ts through the tsx
// hook PM2 passes them (--node-args "--import tsx").
await import("./node-http.ts");
