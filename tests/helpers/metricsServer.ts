/**
 * A loopback stand-in for CloudWatch's PutMetricData (tests/helpers/metricsChild.ts, in a child
 * process: the scripts run under spawnSync, which blocks this process's event loop), enforcing an
 * IAM policy's cloudwatch:namespace condition and recording what the real AWS CLI v2 sent.
 *
 * `binDir` holds an `aws` wrapper that sends `aws cloudwatch ...` here and everything else to the
 * S3 test endpoint's own wrapper: put it first on PATH and the scripts run as on EC2.
 */
import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { PolicyDocument } from "../../components/bucket";
import type { S3Server } from "./s3server";
import { tempDir } from "../support/tmp";
import { awsCliCommand } from "./awsCli";

export interface RecordedDatum {
    metricName: string;
    value: number;
    unit?: string;
    dimensions: Record<string, string>;
}
export interface RecordedCall {
    namespace: string;
    data: RecordedDatum[];
}

export interface MetricsServer {
    endpoint: string;
    /** Directory with the combined `aws` wrapper (CloudWatch here, the rest to the S3 endpoint). */
    binDir: string;
    /** Environment for the scripts: the S3 server's, with this wrapper first on PATH. */
    env: NodeJS.ProcessEnv;
    /** PutMetricData calls accepted since the last call. */
    takeCalls(): RecordedCall[];
    setPolicy(policy: PolicyDocument): void;
    stop(): Promise<void>;
}

export async function startMetricsServer(s3: S3Server, policy: PolicyDocument): Promise<MetricsServer> {
    const root = tempDir("metrics-");
    const policyFile = path.join(root, "policy.json");
    const recordFile = path.join(root, "calls.jsonl");
    const binDir = path.join(root, "bin");
    fs.mkdirSync(binDir);
    fs.writeFileSync(policyFile, JSON.stringify(policy));
    fs.writeFileSync(recordFile, "");
    const child: ChildProcess = spawn(process.execPath, ["-r", path.join(__dirname, "..", "..", "tools", "register.js"), path.join(__dirname, "metricsChild.ts"), policyFile, recordFile], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`metrics server did not start: ${stderr}`)), 15000);
        child.stdout!.on("data", (d) => {
            out += d.toString();
            const nl = out.indexOf("\n");
            if (nl >= 0) {
                clearTimeout(timer);
                resolve(JSON.parse(out.slice(0, nl)).port);
            }
        });
        child.on("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`metrics server exited with ${code}: ${stderr}`));
        });
    });
    child.removeAllListeners("exit");
    const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
    const endpoint = `http://127.0.0.1:${port}`;
    const cli = await awsCliCommand();
    fs.writeFileSync(
        path.join(binDir, "aws"),
        [
            "#!/bin/bash",
            "# Test wrapper: CloudWatch to the local recorder, everything else to the S3 test endpoint.",
            `if [ "\${1:-}" = cloudwatch ]; then exec ${cli} --endpoint-url ${endpoint} "$@"; fi`,
            `exec ${JSON.stringify(path.join(s3.binDir, "aws"))} "$@"`,
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
    return {
        endpoint,
        binDir,
        env: { ...s3.env, PATH: `${binDir}:${s3.env.PATH}` },
        takeCalls() {
            const calls = fs.readFileSync(recordFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as RecordedCall);
            fs.writeFileSync(recordFile, "");
            return calls;
        },
        setPolicy(p: PolicyDocument) {
            fs.writeFileSync(policyFile, JSON.stringify(p));
        },
        async stop() {
            if (child.exitCode === null && child.signalCode === null) {
                child.kill("SIGTERM");
                const t = setTimeout(() => child.kill("SIGKILL"), 3000);
                await exited;
                clearTimeout(t);
            }
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}
