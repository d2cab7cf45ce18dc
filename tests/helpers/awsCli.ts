/**
 * How the tests' `aws` wrappers (tests/helpers/s3server.ts, metricsServer.ts, moto.ts) start the
 * real AWS CLI v2 (Debian's awscli at /usr/bin/aws).
 *
 * By default through a warm server (tests/helpers/awsCliServer.py): the same CLI code, imported
 * once per test process and forked per call, so a call costs about a sixth of the CPU of a
 * cold `/usr/bin/aws` start (`npm run bench` measures both). The scripts under test see the
 * same thing: their own stdin/stdout/stderr, environment, working directory, exit status and
 * signals (tests/awsCliServer.test.ts compares the two paths command by command).
 *
 * `PLATFORM_TEST_AWS_CLI=exec` makes every wrapper exec /usr/bin/aws directly, as on EC2;
 * `awsCliCommand({ direct: true })` does so for one wrapper (the backup benchmark uses it, so its
 * figures are a real CLI start's).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { processCpuSeconds } from "../support/procStat";
import { runTempDir } from "../support/tmp";

export const REAL_AWS = "/usr/bin/aws";
const PYTHON = "/usr/bin/python3"; // /usr/bin/aws's own interpreter (its #! line)
const SERVER = path.join(__dirname, "awsCliServer.py");
const CLIENT = path.join(__dirname, "awsCliClient.py");

interface Warm {
    child: ChildProcess;
    socket: string;
    cpuFile: string;
    ready: Promise<void>;
}
let warm: Warm | undefined;

const alive = (w: Warm) => w.child.exitCode === null && w.child.signalCode === null && fs.existsSync(w.socket);

function startWarm(): Warm {
    // One server for the whole test process: its directory is not one of the per-file tempDirs
    // the root hook removes after each file; the server removes it when this process ends.
    const dir = runTempDir("aws-cli-");
    const socket = path.join(dir, "cli.sock");
    const cpuFile = path.join(dir, "cpu");
    // stdin is a pipe the server watches: when this process ends, however it ends, the server goes too.
    const child = spawn(PYTHON, [SERVER, socket, cpuFile], { stdio: ["pipe", "pipe", "pipe"] });
    let log = "";
    child.stderr!.on("data", (d) => (log = (log + d.toString()).slice(-10_000)));
    const ready = new Promise<void>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`the warm AWS CLI did not start in 60 s: ${log}`)), 60_000);
        child.stdout!.on("data", (d) => {
            out += d.toString();
            if (out.includes("ready\n")) {
                clearTimeout(timer);
                resolve();
            }
        });
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            reject(new Error(`the warm AWS CLI exited (${code ?? signal}) before it was ready: ${log}`));
        });
    });
    // Neither the server nor its pipes keep this process alive.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void })?.unref?.();
    return { child, socket, cpuFile, ready };
}

/** The server's own CPU seconds and its calls', while it runs. */
function cpuOf(w: Warm): number {
    const own = processCpuSeconds(w.child.pid)?.own ?? 0;
    let calls = 0;
    try {
        calls = Number(fs.readFileSync(w.cpuFile, "utf8")) || 0;
    } catch {
        // no call finished yet
    }
    return own + calls;
}

/**
 * CPU seconds the warm AWS CLI has used for this process so far (the server and every call):
 * its calls are not this process's children, so tests/support/fileTimes.ts adds them. A call is
 * counted when it ends, and the server's own start (about 0.6 s) in the first file that uses it.
 */
export function warmAwsCliCpuSeconds(): number {
    return warm && alive(warm) ? cpuOf(warm) : 0;
}

/**
 * The command a wrapper execs in place of `/usr/bin/aws` (shell words, already quoted; the
 * wrapper appends its own arguments and "$@").
 */
export async function awsCliCommand(options: { direct?: boolean } = {}): Promise<string> {
    if (options.direct || process.env.PLATFORM_TEST_AWS_CLI === "exec") return REAL_AWS;
    if (!warm || !alive(warm)) {
        // A server that died, or whose socket was removed, is replaced.
        // (A replaced server is reaped by this process: its CPU and its calls' count among this
        // process's children from then on.)
        if (warm) warm.child.kill("SIGKILL");
        warm = startWarm();
    }
    const starting = warm;
    try {
        await starting.ready;
    } catch (err) {
        // The shortcut is only a shortcut: the wrappers exec /usr/bin/aws, and the next call tries again.
        starting.child.kill("SIGKILL");
        if (warm === starting) warm = undefined;
        process.stderr.write(`tests/helpers/awsCli.ts: ${(err as Error).message}; this wrapper runs /usr/bin/aws directly\n`);
        return REAL_AWS;
    }
    return `${PYTHON} -I -S ${JSON.stringify(CLIENT)} ${JSON.stringify(starting.socket)}`;
}

/** The warm server's process id in this process, if one runs (tests of the server itself). */
export function warmAwsCliPid(): number | undefined {
    return warm && alive(warm) ? warm.child.pid : undefined;
}
