/**
 * moto in server mode, one at a time per test file (reset between files, see startMoto): the AWS
 * API (IAM, S3, SSM, EC2, Auto Scaling, Secrets Manager, ...) on a free loopback port, with what a
 * test needs to talk to it:
 *
 * - `env`: dummy credentials, the region, no IMDS, no user config, `AWS_ENDPOINT_URL` (honoured
 *   natively by boto3 and the AWS SDK for JavaScript v3) and, first on PATH, an `aws` wrapper that
 *   runs the real AWS CLI v2 with `--endpoint-url` (CLI 2.9 ignores AWS_ENDPOINT_URL), so the
 *   scripts run unchanged, as on EC2;
 * - `boto(calls)`: a batch of boto3 calls (and runbook steps) in the file's one boto3 process
 *   (tests/helpers/boto_worker.py), optionally as another identity;
 * - `enforceIam(true)`: from the next request on, every request is authenticated by its access
 *   key and authorized against that identity's IAM policies (moto's `/moto-api/reset-auth`, the
 *   server-mode switch behind INITIAL_NO_AUTH_ACTION_COUNT); `false` turns it off again.
 *
 * The server runs tests/helpers/moto_server.py, moto's own server with the SigV4 signature check
 * of enforcing mode disabled (moto 5.2.1 miscomputes it for a query string holding `/`; see that
 * file). What moto does not model is listed in the README's "What is proven where".
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { freePort, waitFor } from "../support/net";
import { processCpuSeconds } from "../support/procStat";
import { awsCliCommand } from "./awsCli";

export const MOTO_LAUNCHER = path.join(__dirname, "moto_server.py");
const BOTO_WORKER = path.join(__dirname, "boto_worker.py");
/** moto's default account: what its ARNs carry, and what the offline plan's mocks use too. */
export const MOTO_ACCOUNT = "123456789012";

export type BotoCall =
    | {
          service: string;
          op: string;
          params?: Record<string, unknown>;
      }
    /** A pause between calls (moto dates images to the second, as EC2 does). */
    | { sleep: number }
    /** A runbook step's Python run as aws:executeScript runs it (see boto_worker.py). */
    | { step: string; payload: Record<string, unknown>; options?: string[] };
export type BotoResult = { ok: true; result: any } | { ok: false; code: string; message: string; status?: number };

export interface Credentials {
    AccessKeyId: string;
    SecretAccessKey: string;
}

export interface Moto {
    port: number;
    endpoint: string;
    /** Environment for child processes (see the header). */
    env: NodeJS.ProcessEnv;
    /** The same with other credentials (an IAM user's access key). */
    envAs(credentials: Credentials): NodeJS.ProcessEnv;
    /** Runs boto3 calls in order, with the server's credentials or those given. */
    boto(calls: BotoCall[], credentials?: Credentials): Promise<BotoResult[]>;
    /** Like `boto`, but every call must succeed; returns the results. */
    botoOk(calls: BotoCall[], credentials?: Credentials): Promise<any[]>;
    enforceIam(on: boolean): Promise<void>;
    stop(): Promise<void>;
}

export interface MotoOptions {
    /** Environment of the server: moto's settings, e.g. MOTO_IAM_LOAD_MANAGED_POLICIES=true. */
    serverEnv?: NodeJS.ProcessEnv;
    /** `python3 -m moto.server` as moto ships it, without the launcher's two fixes (tests/motoLauncher.test.ts). */
    unpatched?: boolean;
}

interface MotoServer {
    port: number;
    endpoint: string;
    child: ChildProcess;
    exited: Promise<void>;
    log(): string;
}

/** Servers a finished file handed back, by their options: the next file with the same options resets one. */
const idle = new Map<string, MotoServer[]>();
/** Every server this process started that still runs. */
const running = new Set<MotoServer>();

/**
 * CPU seconds of the servers this process started that still run (Linux: /proc/PID/stat). A kept
 * server is nobody's waited-for child until it ends, after the last file: tests/support/fileTimes.ts
 * adds this so that its CPU is counted. One that is stopped and reaped counts among this process's
 * children from then on, and drops out of this sum.
 */
export function runningMotoCpuSeconds(): number {
    let total = 0;
    for (const server of running) total += processCpuSeconds(server.child.pid)?.own ?? 0;
    return total;
}

async function launch(options: MotoOptions): Promise<MotoServer> {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    // stdin is a pipe the launcher watches: when this process ends, however it ends, the server goes too.
    const child: ChildProcess = spawn("python3", [...(options.unpatched ? ["-m", "moto.server"] : [MOTO_LAUNCHER]), "-H", "127.0.0.1", "-p", String(port)], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...options.serverEnv } });
    let log = "";
    child.stdout?.on("data", (d) => (log = (log + d.toString()).slice(-20_000)));
    child.stderr?.on("data", (d) => (log = (log + d.toString()).slice(-20_000)));
    const server: MotoServer = { port, endpoint, child, exited: new Promise<void>((resolve) => child.once("exit", () => resolve())), log: () => log };
    running.add(server);
    void server.exited.then(() => running.delete(server));
    try {
        await waitFor(`moto on ${port}`, async () => {
            if (child.exitCode !== null) throw new Error(`moto exited ${child.exitCode}: ${log}`);
            try {
                return (await fetch(`${endpoint}/moto-api/`)).ok;
            } catch {
                return false;
            }
        }, 30_000);
    } catch (err) {
        await terminate(server);
        throw err;
    }
    // A server kept for the next file must not keep this process alive after its last file.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void })?.unref?.();
    return server;
}

async function terminate(server: MotoServer): Promise<void> {
    const { child } = server;
    if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await server.exited;
        clearTimeout(t);
    }
}

/**
 * A server as a fresh start leaves it: every service's state removed (`/moto-api/reset`, which
 * re-creates each backend, the default AMIs and IAM's managed policies included) and IAM
 * enforcement back to the start's setting (INITIAL_NO_AUTH_ACTION_COUNT, default off). False if
 * it is gone or does not answer. What the reset leaves as it was (moto 5.2.1's source), none of which
 * a test here sets: `/moto-api/config`, the random seed (`/moto-api/seed`), the state manager's
 * transitions and the recorder.
 */
async function reset(server: MotoServer, options: MotoOptions): Promise<boolean> {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return false;
    try {
        const cleared = await fetch(`${server.endpoint}/moto-api/reset`, { method: "POST" });
        const auth = await fetch(`${server.endpoint}/moto-api/reset-auth`, { method: "POST", body: String(options.serverEnv?.INITIAL_NO_AUTH_ACTION_COUNT ?? "inf") });
        return cleared.ok && auth.ok;
    } catch {
        return false;
    }
}

/**
 * Starts moto on 127.0.0.1; `dir` (a tempDir) holds the `aws` wrapper.
 *
 * Starting moto costs about 2 s of CPU, and each service's first request imports its models: a
 * server a previous test file stopped is kept (per mocha worker, per set of options) and handed to
 * the next file reset to what a fresh start holds, so what a file sees does not depend on which
 * files ran before it. Its `stop()` ends the file's boto3 process and gives the server back (an
 * `unpatched` one is stopped: it does not watch its stdin, so it would outlive this process).
 */
export async function startMoto(dir: string, options: MotoOptions = {}): Promise<Moto> {
    const key = JSON.stringify([options.unpatched ?? false, Object.entries(options.serverEnv ?? {}).sort()]);
    let server: MotoServer | undefined;
    while (!server) {
        const kept = idle.get(key)?.pop();
        if (!kept) break;
        if (await reset(kept, options)) server = kept;
        else await terminate(kept);
    }
    server ??= await launch(options);
    const { port, endpoint } = server;
    const log = server.log;
    const bin = path.join(dir, "moto-bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "aws"), `#!/bin/bash\n# Test wrapper: the real AWS CLI v2, pointed at a local moto.\nexec ${await awsCliCommand()} --endpoint-url ${endpoint} "$@"\n`, { mode: 0o755 });
    const pooled = server;
    let handedBack = false;
    const stop = async () => {
        if (handedBack) return;
        handedBack = true;
        // Only the launcher ends with this process (it watches its stdin); moto as it ships would outlive it.
        if (options.unpatched) await terminate(pooled);
        else if (pooled.child.exitCode === null && pooled.child.signalCode === null) idle.set(key, [...(idle.get(key) ?? []), pooled]);
    };
    const base: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_REGION: "us-east-1",
        AWS_DEFAULT_REGION: "us-east-1",
        AWS_ENDPOINT_URL: endpoint,
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_PAGER: "",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    for (const k of Object.keys(base)) if (base[k] === undefined) delete base[k];
    // The boto3 process, started with the first batch; batches are answered in order, one line each.
    let worker: ChildProcess | undefined;
    let workerLog = "";
    let buffered = "";
    const waiting: Array<{ resolve: (r: BotoResult[]) => void; reject: (e: Error) => void }> = [];
    const startWorker = () => {
        const w = spawn("python3", [BOTO_WORKER], { env: base, stdio: ["pipe", "pipe", "pipe"] });
        w.stdout!.on("data", (d) => {
            buffered += d.toString();
            for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
                const line = buffered.slice(0, nl);
                buffered = buffered.slice(nl + 1);
                waiting.shift()?.resolve(JSON.parse(line) as BotoResult[]);
            }
        });
        w.stderr!.on("data", (d) => (workerLog = (workerLog + d.toString()).slice(-20_000)));
        w.on("exit", (code) => {
            for (const p of waiting.splice(0)) p.reject(new Error(`boto3 worker exited ${code}: ${workerLog}\nmoto: ${log().slice(-3000)}`));
        });
        return w;
    };
    const boto = (calls: BotoCall[], credentials?: Credentials): Promise<BotoResult[]> => {
        worker ??= startWorker();
        return new Promise((resolve, reject) => {
            waiting.push({ resolve, reject });
            worker!.stdin!.write(JSON.stringify({ calls, credentials }) + "\n");
        });
    };
    const stopAll = async () => {
        if (worker && worker.exitCode === null) {
            const gone = new Promise((r) => worker!.once("exit", r));
            worker.stdin!.end();
            const t = setTimeout(() => worker!.kill("SIGKILL"), 5000);
            await gone;
            clearTimeout(t);
        }
        await stop();
    };
    return {
        port,
        endpoint,
        env: base,
        envAs: (c) => ({ ...base, AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey }),
        boto,
        async botoOk(calls, credentials) {
            const results = await boto(calls, credentials);
            results.forEach((r, i) => {
                if (!r.ok) throw new Error(`${JSON.stringify(calls[i]).slice(0, 200)} failed: ${r.code} ${r.message}`);
            });
            return results.map((r) => (r as { result: unknown }).result);
        },
        async enforceIam(on) {
            const r = await fetch(`${endpoint}/moto-api/reset-auth`, { method: "POST", body: on ? "0" : "inf" });
            if (!r.ok) throw new Error(`moto reset-auth: ${r.status} ${await r.text()}`);
        },
        stop: stopAll,
    };
}

/** A parameter standing for part of an earlier call's result in the same `boto` batch. */
export function resultOf(call: number, ...pathInResult: Array<string | number>): unknown {
    return { $result: call, path: pathInResult };
}

/**
 * A client that always reaches the server: another test file in the same mocha worker may have
 * mocked the SDK client's class (aws-sdk-client-mock's mockClient(S3Client) stubs the prototype's
 * send, and stays), so this sends with the SDK's own Client.send.
 */
export function unmocked<T extends { send: (...a: any[]) => any }>(client: T): Pick<T, "send"> {
    const base = Object.getPrototypeOf(Object.getPrototypeOf(client)).send as T["send"];
    return { send: ((command: unknown) => base.call(client, command)) as T["send"] };
}
