/**
 * Tools from Debian's packages that a real-run test needs. Missing locally: the suite is
 * pending with the exact install command; missing under CI=true: a failure (CI must run it).
 */
import { spawnSync } from "child_process";
import * as net from "net";

/** Debian package per tool this project's real-run tests use. */
export const DEBIAN_PACKAGE: Record<string, string> = {
    "/usr/sbin/nginx": "nginx",
    "/usr/bin/aws": "awscli",
    curl: "curl",
    shellcheck: "shellcheck",
    "systemd-analyze": "systemd",
    flock: "util-linux",
    "/usr/lib/postgresql/15/bin/initdb": "postgresql",
    "/usr/lib/postgresql/15/bin/pg_ctl": "postgresql",
    psql: "postgresql-client",
    "/usr/sbin/mariadbd": "mariadb-server",
    "mariadb-install-db": "mariadb-server",
    mariadb: "mariadb-client",
    python3: "python3",
};

/** The tools of `tools` that are not installed (an absolute path must be executable; a name must be on PATH). */
export function missingTools(tools: string[]): string[] {
    return tools.filter((t) => spawnSync("sh", ["-c", t.startsWith("/") ? `test -x '${t}'` : `command -v '${t}' >/dev/null`]).status !== 0);
}

/**
 * In a mocha `before`: skips the suite (locally) or throws (CI=true) when a tool is missing,
 * naming the apt-get command that installs what is missing.
 */
export function requireTools(ctx: Mocha.Context, suite: string, tools: string[]): void {
    const missing = missingTools(tools);
    if (missing.length === 0) return;
    const packages = [...new Set(missing.map((t) => DEBIAN_PACKAGE[t] ?? t))].join(" ");
    const msg = `${suite} needs ${missing.join(", ")}. Install with: sudo apt-get update && sudo apt-get install -y ${packages}`;
    if (process.env.CI === "true") throw new Error(msg);
    console.warn(`SKIPPING: ${msg}`);
    ctx.skip();
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

/** Polls `check` every 100 ms until it returns true or `ms` passes. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
        if (await check()) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}
