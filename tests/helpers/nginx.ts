/**
 * Real nginx (Debian's /usr/sbin/nginx) running the default app's configuration under a temp
 * directory: the exact text `nginxConfig()` generates, with only the paths moved (pid, logs,
 * temp files, the release root) and high loopback ports. Run as `nobody` when the tests run as
 * root, like the unit's `User=nginx`: the release files must be readable by an unprivileged user.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { AppOptions, AppPaths, nginxConfig } from "../../components/app";
import { waitFor } from "../support/net";

export const NGINX = "/usr/sbin/nginx";
const NOBODY = 65534;

export interface RunningNginx {
    paths: AppPaths;
    configFile: string;
    /** Where `current` and `releases/` live (= paths.root). */
    root: string;
    stop(): Promise<void>;
}

/** The config's paths under `dir` (the release root is `dir/app`). */
export function tempAppPaths(dir: string): AppPaths {
    return { root: path.join(dir, "app"), pidFile: path.join(dir, "run", "nginx.pid"), logDir: path.join(dir, "log"), tempDir: path.join(dir, "cache"), mimeTypes: "/etc/nginx/mime.types" };
}

/**
 * One GET on a fresh connection (no keep-alive pool: a reload of nginx closes idle kept-alive
 * connections, and a pooled client would then fail on a socket the server has just closed).
 */
export function get(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent: false, headers: { connection: "close" } }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
    });
}

export async function startNginx(dir: string, app: Omit<AppOptions, "paths">): Promise<RunningNginx> {
    const paths = tempAppPaths(dir);
    for (const d of [paths.root, path.dirname(paths.pidFile), paths.logDir, paths.tempDir]) fs.mkdirSync(d, { recursive: true });
    const configFile = path.join(dir, "nginx.conf");
    fs.writeFileSync(configFile, nginxConfig({ ...app, paths }));
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
        fs.chmodSync(dir, 0o755);
        for (const d of [path.dirname(paths.pidFile), paths.logDir, paths.tempDir]) fs.chownSync(d, NOBODY, NOBODY);
    }
    let stderr = "";
    const child: ChildProcess = spawn(NGINX, ["-e", "stderr", "-p", dir, "-c", configFile, "-g", "daemon off;"], {
        stdio: ["ignore", "ignore", "pipe"],
        ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    child.stderr!.on("data", (d) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const port = app.port;
    await waitFor(`nginx on port ${port} (${stderr})`, async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}`);
        try {
            await get(`http://127.0.0.1:${port}/`);
            return true;
        } catch {
            return false;
        }
    });
    return {
        paths,
        configFile,
        root: paths.root,
        async stop() {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill("SIGQUIT");
                const t = setTimeout(() => child.kill("SIGKILL"), 3000);
                await exited;
                clearTimeout(t);
            }
        },
    };
}
