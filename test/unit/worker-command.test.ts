import { describe, expect, test } from "vitest";
import { denoPermissionArgs, libcPathIn, WORKER_VARIABLES, workerArgv } from "../../src/supervisor/_command.ts";
import type { ResolvedCommand } from "../../src/supervisor/_options.ts";

const variables = WORKER_VARIABLES.join(",");

describe("denoPermissionArgs", () => {
  test("the variables the library reads", () => {
    expect(variables).toBe(
      "LISTEN_FDS,LISTEN_PID,LISTEN_FDNAMES,NOTIFY_SOCKET,REUSEPORT_SLOT,REUSEPORT_GENERATION,REUSEPORT_SUPERVISOR_PID,REUSEPORT_DRAIN_MS,REUSEPORT_SELF_BIND,REUSEPORT_LIBC,PORT",
    );
  });

  test("no flags: FFI, the library's variables and the unstable net API, nothing else", () => {
    expect(denoPermissionArgs([])).toEqual(["--allow-ffi", `--allow-env=${variables}`, "--unstable-net"]);
  });

  test("the user's flags follow the added ones", () => {
    expect(denoPermissionArgs(["--allow-net", "--allow-read=."])).toEqual([
      "--allow-ffi",
      `--allow-env=${variables}`,
      "--unstable-net",
      "--allow-net",
      "--allow-read=.",
    ]);
  });

  test.each([
    [["-A"]],
    [["--allow-all"]],
    [["--allow-net", "-A", "--allow-env=FOO"]],
    [["-P"]],
    [["--permission-set"]],
    [["--permission-set=server"]],
    [["--allow-read", "--permission-set=server"]],
  ])("%j is taken as it is, with --unstable-net beside it", (args) => {
    expect(denoPermissionArgs(args)).toEqual(["--unstable-net", ...args]);
  });

  test.each([["--allow-env"], ["-E"]])("%s alone already grants every variable: no list added", (flag) => {
    expect(denoPermissionArgs([flag])).toEqual(["--allow-ffi", "--unstable-net", flag]);
  });

  test("a bare --allow-env beside a list: the list stays unchanged", () => {
    expect(denoPermissionArgs(["--allow-env", "--allow-env=FOO"])).toEqual([
      "--allow-ffi",
      "--unstable-net",
      "--allow-env",
      "--allow-env=FOO",
    ]);
  });

  test("--allow-env=FOO gains the library's variables in place, and no second list", () => {
    const result = denoPermissionArgs(["--allow-net", "--allow-env=FOO", "--allow-read"]);
    expect(result).toEqual([
      "--allow-ffi",
      "--unstable-net",
      "--allow-net",
      `--allow-env=FOO,${variables}`,
      "--allow-read",
    ]);
    expect(result.filter((a) => a.startsWith("--allow-env"))).toHaveLength(1);
  });

  test.each([["--allow-ffi"], ["--allow-ffi=./lib"]])("%s present: no --allow-ffi added", (flag) => {
    expect(denoPermissionArgs([flag])).toEqual([`--allow-env=${variables}`, "--unstable-net", flag]);
  });

  test.each([["--unstable-net"], ["--unstable"]])("%s present: no --unstable-net added", (flag) => {
    expect(denoPermissionArgs([flag])).toEqual(["--allow-ffi", `--allow-env=${variables}`, flag]);
  });

  test("everything present: the user's flags as they are, the list extended", () => {
    expect(denoPermissionArgs(["--unstable-net", "--allow-ffi", "--allow-env=A,B"])).toEqual([
      "--unstable-net",
      "--allow-ffi",
      `--allow-env=A,B,${variables}`,
    ]);
  });
});

const command = (over: Partial<ResolvedCommand>): ResolvedCommand => ({
  app: "app.ts",
  args: ["--flag", "x"],
  runtime: "node",
  executable: undefined,
  runtimeArgs: [],
  preload: true,
  ...over,
});

const ownNode = { runtime: "node", execPath: "/own/node" } as const;
const preload = "/lib/preload.js";

describe("workerArgv", () => {
  test("node: --import <preload> after the user's runtime flags, before the app and its arguments", () => {
    expect(
      workerArgv(command({ runtimeArgs: ["--import", "tsx", "--max-old-space-size=64"] }), ownNode, preload),
    ).toEqual([
      "/own/node",
      "--import",
      "tsx",
      "--max-old-space-size=64",
      "--import",
      preload,
      "app.ts",
      "--flag",
      "x",
    ]);
  });

  test("bun: --preload <preload>", () => {
    expect(workerArgv(command({ runtime: "bun", runtimeArgs: ["--smol"] }), ownNode, preload)).toEqual([
      "bun",
      "--smol",
      "--preload",
      preload,
      "app.ts",
      "--flag",
      "x",
    ]);
  });

  test("deno: run, the permissions, --preload <preload>, the app", () => {
    expect(workerArgv(command({ runtime: "deno", runtimeArgs: ["--allow-net"] }), ownNode, preload)).toEqual([
      "deno",
      "run",
      "--allow-ffi",
      `--allow-env=${variables}`,
      "--unstable-net",
      "--allow-net",
      "--preload",
      preload,
      "app.ts",
      "--flag",
      "x",
    ]);
  });

  test("deno with -A: the flags as they are, and --unstable-net", () => {
    expect(workerArgv(command({ runtime: "deno", runtimeArgs: ["-A"], args: [] }), ownNode, preload)).toEqual([
      "deno",
      "run",
      "--unstable-net",
      "-A",
      "--preload",
      preload,
      "app.ts",
    ]);
  });

  test.each(["node", "bun", "deno"] as const)("%s with preload: false adds no preload flag", (runtime) => {
    const argv = workerArgv(command({ runtime, preload: false }), ownNode, preload);
    expect(argv).not.toContain(preload);
    expect(argv).not.toContain("--import");
    expect(argv).not.toContain("--preload");
    expect(argv.slice(-3)).toEqual(["app.ts", "--flag", "x"]);
  });

  test.each(["node", "bun", "deno"] as const)("%s without a preload path adds no preload flag", (runtime) => {
    const argv = workerArgv(command({ runtime }), ownNode, undefined);
    expect(argv).not.toContain("--import");
    expect(argv).not.toContain("--preload");
    expect(argv.slice(-3)).toEqual(["app.ts", "--flag", "x"]);
  });

  test.each([
    ["node", { runtime: "node", execPath: "/own/node" }, "/own/node"],
    ["node", { runtime: "bun", execPath: "/own/bun" }, "node"],
    ["bun", { runtime: "bun", execPath: "/own/bun" }, "/own/bun"],
    ["bun", { runtime: "node", execPath: "/own/node" }, "bun"],
    ["deno", { runtime: "deno", execPath: "/own/deno" }, "/own/deno"],
    ["deno", { runtime: "node", execPath: "/own/node" }, "deno"],
  ] as const)("a %s worker run from %o starts %s", (runtime, own, executable) => {
    expect(workerArgv(command({ runtime }), own, preload)[0]).toBe(executable);
  });

  test("a given executable wins", () => {
    expect(workerArgv(command({ executable: "/custom/node" }), ownNode, preload)[0]).toBe("/custom/node");
    expect(workerArgv(command({ runtime: "deno", executable: "/custom/deno" }), ownNode, preload)[0]).toBe(
      "/custom/deno",
    );
  });

  test("the command is not changed", () => {
    const runtimeArgs = ["--import", "tsx"];
    workerArgv(command({ runtimeArgs }), ownNode, preload);
    expect(runtimeArgs).toEqual(["--import", "tsx"]);
  });

  describe("libc for an --allow-ffi list", () => {
    test("the list gets the absolute path, in place; a bare --allow-ffi does not", () => {
      expect(denoPermissionArgs(["--allow-ffi=./a.so"], "/usr/lib/x86_64-linux-gnu/libc.so.6")[0]).toBe(
        `--allow-env=${WORKER_VARIABLES.join(",")}`,
      );
      expect(denoPermissionArgs(["--allow-ffi=./a.so"], "/usr/lib/x86_64-linux-gnu/libc.so.6")).toContain(
        "--allow-ffi=./a.so,/usr/lib/x86_64-linux-gnu/libc.so.6",
      );
      expect(denoPermissionArgs(["--allow-ffi"], "/lib/libc.so.6")).toEqual([
        `--allow-env=${WORKER_VARIABLES.join(",")}`,
        "--unstable-net",
        "--allow-ffi",
      ]);
    });

    test("libcPathIn finds the mapped library by its name", () => {
      const maps = [
        "7f843da7c000-7f843daa2000 r--p 00000000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6",
        "7f843dc4b000-7f843dc4f000 r--p 00000000 fe:00 339381                     /usr/lib/x86_64-linux-gnu/libm.so.6",
      ].join("\n");
      expect(libcPathIn(maps, "libc.so.6")).toBe("/usr/lib/x86_64-linux-gnu/libc.so.6");
      expect(libcPathIn(maps, "libc.musl-x86_64.so.1")).toBeUndefined();
    });
  });
});
