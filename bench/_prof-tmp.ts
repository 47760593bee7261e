setTimeout(() => process.exit(0), Number(process.env.PROF_MS ?? 6000));
await import("./_http-server.ts");
