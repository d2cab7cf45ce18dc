/**
 * Runs the project's CLIs as real processes, as a user's shell does: exit code, stdout and
 * stderr exactly as they come out (an unhandled rejection after `main()` returns, npm's
 * banner, a warning printed by a library: only a process shows them).
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../../tools/offline";

export interface ProcessResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

// A CLI start is CPU-bound, and mocha already runs one test file per core pair (--jobs 2 on two
// cores): one process at a time per core pair keeps the other file's timings undisturbed.
const CONCURRENCY = Math.max(1, Math.floor(os.cpus().length / 2));
let running = 0;
const waiting: Array<() => void> = [];

/** Runs `command args` (no shell) in the project directory, or `options.cwd`. */
export async function runProcess(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<ProcessResult> {
    if (running >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
        return await new Promise<ProcessResult>((resolve, reject) => {
            const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_DIR, env: options.env ?? cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            child.on("error", reject);
            child.on("close", (code) => resolve({ code, stdout, stderr }));
            child.stdin.on("error", () => undefined); // a command that exits without reading its input
            child.stdin.end(options.input ?? "");
        });
    } finally {
        running--;
        waiting.shift()?.();
    }
}

/** Runs a shell command line exactly as written (pipes, redirections), with `sh -c`. */
export function runShell(commandLine: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProcessResult> {
    return runProcess("sh", ["-c", commandLine], options);
}

/** The environment of a user's shell: this one without what mocha or CI set for the test run. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    for (const key of Object.keys(env)) if (key.startsWith("MOCHA_") || key.startsWith("npm_") || env[key] === undefined) delete env[key];
    return env;
}

/**
 * The command `npm run <script>` runs (package.json's script, `node ...` run by this Node),
 * without npm itself in between: the same process, half a second faster to start.
 */
export function scriptCommand(script: string, args: string[]): [string, string[]] {
    const scripts = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")).scripts as Record<string, string>;
    const words = scripts[script]?.split(/\s+/);
    assert.ok(words && words[0] === "node", `package.json script "${script}" runs node (${scripts[script]})`);
    return [process.execPath, [...words.slice(1), ...args]];
}

/** Runs `npm run <script> -- args` as its process, without npm. */
export function runScript(script: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProcessResult> {
    const [command, argv] = scriptCommand(script, args);
    return runProcess(command, argv, options);
}

/**
 * What every failure must look like from the shell: the exit code, nothing on stdout (unless
 * `stdoutAllowed`), and on stderr the message only: no internal object dump, no stack trace.
 */
export function assertCleanFailure(result: ProcessResult, code: number, options: { stdoutAllowed?: boolean } = {}): string {
    const where = `exit ${result.code}\n--- stderr\n${result.stderr}\n--- stdout\n${result.stdout.slice(0, 2000)}`;
    assert.equal(result.code, code, where);
    if (!options.stdoutAllowed) assert.equal(result.stdout, "", where);
    assert.doesNotMatch(result.stderr, /__pulumiRunError|\[Object: null prototype\]|^\[\w+\] \{/m, `no internal object dump\n${where}`);
    assert.doesNotMatch(result.stderr, /^\s+at .+[:(]/m, `no stack trace\n${where}`);
    assert.doesNotMatch(result.stderr, /node:internal|\(Use `node --trace-/, `nothing from Node's default handlers\n${where}`);
    assert.ok(result.stderr.endsWith("\n") && result.stderr.trim().length > 0, `a message on stderr\n${where}`);
    return result.stderr;
}
