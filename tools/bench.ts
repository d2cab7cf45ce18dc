/**
 * `npm run bench [-- --runs N] [--skip-tests] [--warm-tests]`: the offline plan and the test
 * suite, each figure as a ratio to a floor or peer measured in the same run (the machine is
 * shared and its speed varies from minute to minute; a ratio measured side by side does not).
 * It prints; it never fails on a slow figure.
 *
 * - The plan as a process (what `npm run plan` runs, without npm's own start), CPU and wall,
 *   against the floor: a Node process that only loads @pulumi/pulumi, @pulumi/aws,
 *   @pulumi/awsx and @pulumi/policy. Runs alternate with the floor's; medians are compared.
 *   Warm (transpile and V8 code caches filled, as for every run after the first) and cold (both
 *   empty: the first run after `npm ci`); as peers, warm without the code cache
 *   (PLATFORM_COMPILE_CACHE=off, tools/compileCache.js) and ts-node's `--transpile-only` (how the
 *   plan ran before tools/register.js); and the plan of a stack file with an unknown key, which
 *   is judged before the program runs (exit 2).
 * - The plan in-process after its first run (how most tests plan), against the same floor.
 * - One AWS CLI call (ListObjectsV2 to a local s3rver) through the tests' warm CLI
 *   (tests/helpers/awsCli.ts: its client's CPU and the forked call's, which the server counts),
 *   against the same call as a cold `/usr/bin/aws` start; alternating, medians.
 * - `npm test` (type-check and mocha) from a fresh clone's state (empty transpile cache and
 *   type-check build info; `--warm-tests` keeps them), against the 60 s target, with the
 *   test files that took longest (tests/support/fileTimes.ts) and the CPU the run used.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsCliCommand, REAL_AWS, warmAwsCliCpuSeconds } from "../tests/helpers/awsCli";
import { startS3Server } from "../tests/helpers/s3server";

const ROOT = path.resolve(__dirname, "..");
const TEST_TARGET_S = 60;
const PLAN_TARGET_RATIO = 1.5;

function flag(name: string, fallback: number): number {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback;
}

const RUNS = flag("runs", 5);

interface Measure {
    wall: number;
    cpu: number;
    code: number | null;
}

/**
 * Runs `command args` and returns its wall time and the CPU time of it and every process it
 * waited for (the shell's `times` for its children).
 */
function measure(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Measure {
    const script = 'cmd="$1"; shift; "$cmd" "$@" >/dev/null 2>&1; code=$?; times >&2; exit $code';
    const start = process.hrtime.bigint();
    const r = spawnSync("sh", ["-c", script, "sh", command, ...args], { cwd: ROOT, env, encoding: "utf8" });
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    // `times` prints the shell's user and system time, then its children's.
    const seconds = [...r.stderr.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    return { wall, cpu: (seconds[2] ?? 0) + (seconds[3] ?? 0), code: r.status };
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Series {
    label: string;
    command: string;
    args: string[];
    env?: NodeJS.ProcessEnv;
    /** Prepares each run (e.g. empties a cache). */
    before?: () => void;
    /** The exit codes of a run that did what it is measured for. @default [0, 1] (a plan with or without violations) */
    expected?: number[];
    runs: Measure[];
}

/** Runs every series `runs` times, one run of each in turn, so that all of them see the same load. */
function interleaved(series: Series[], runs: number): void {
    for (let i = 0; i < runs; i++) {
        for (const s of series) {
            s.before?.();
            s.runs.push(measure(s.command, s.args, s.env));
        }
    }
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

function summary(s: Series): { cpu: number; wall: number; failed: number } {
    return { cpu: median(s.runs.map((r) => r.cpu)), wall: median(s.runs.map((r) => r.wall)), failed: s.runs.filter((r) => !(s.expected ?? [0, 1]).includes(r.code ?? -1)).length };
}

function machine(): string {
    const cpus = os.cpus();
    return `${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

function benchPlan(): void {
    const node = process.execPath;
    const floorScript = "require('@pulumi/pulumi'); require('@pulumi/aws'); require('@pulumi/awsx'); require('@pulumi/policy');";
    const register = path.join(ROOT, "tools", "register.js");
    const coldCache = fs.mkdtempSync(path.join(os.tmpdir(), "bench-ts-cache-"));
    const tsNode = require.resolve("ts-node/dist/bin.js", { paths: [ROOT] });
    const badStackFile = path.join(coldCache, "Pulumi.dev.yaml");
    fs.writeFileSync(badStackFile, "config:\n  aws:region: us-east-1\n  platform:environment: dev\n  platform:netwrk:\n    azCount: 2\n");
    // A warm cache, as every run after the first has it.
    spawnSync(node, ["-r", register, "tools/plan.ts", "--stack", "dev", "--json"], { cwd: ROOT, stdio: "ignore" });
    spawnSync(node, ["-r", register, "tools/plan.ts", "--stack", "prod", "--json"], { cwd: ROOT, stdio: "ignore" });
    const floor: Series = { label: "floor: node loading the four SDKs", command: node, args: ["-e", floorScript], runs: [] };
    const series: Series[] = [
        floor,
        { label: "plan dev (warm caches)", command: node, args: ["-r", register, "tools/plan.ts", "--stack", "dev", "--json"], runs: [] },
        { label: "plan prod (warm caches)", command: node, args: ["-r", register, "tools/plan.ts", "--stack", "prod", "--json"], runs: [] },
        {
            label: "plan dev (cold: empty transpile and code caches)",
            command: node,
            args: ["-r", register, "tools/plan.ts", "--stack", "dev", "--json"],
            env: { ...process.env, PLATFORM_CACHE_DIR: coldCache },
            before: () => {
                fs.rmSync(path.join(coldCache, "platform-ts"), { recursive: true, force: true });
                fs.rmSync(path.join(coldCache, "platform-v8"), { recursive: true, force: true });
            },
            runs: [],
        },
        {
            label: "peer: plan dev, warm, without V8's code cache",
            command: node,
            args: ["-r", register, "tools/plan.ts", "--stack", "dev", "--json"],
            env: { ...process.env, PLATFORM_COMPILE_CACHE: "off" },
            runs: [],
        },
        { label: "peer: plan dev with ts-node --transpile-only (before)", command: node, args: [tsNode, "--transpile-only", "tools/plan.ts", "--stack", "dev", "--json"], runs: [] },
        // Judged before the program runs (tools/plan.ts): what a pre-commit hook pays for a typo.
        { label: "plan dev, a stack file with an unknown key (exit 2)", command: node, args: ["-r", register, "tools/plan.ts", "--stack", "dev", "--config", badStackFile], expected: [2], runs: [] },
    ];
    console.log(`Offline plan as a process (${RUNS} runs of each, alternating; medians; target <= ${PLAN_TARGET_RATIO}x the floor, CPU and wall):`);
    interleaved(series, RUNS);
    fs.rmSync(coldCache, { recursive: true, force: true });
    const base = summary(floor);
    console.log(`  ${floor.label.padEnd(56)} CPU ${fmt(base.cpu)} s, wall ${fmt(base.wall)} s`);
    for (const s of series.slice(1)) {
        const m = summary(s);
        const failed = m.failed ? `  (${m.failed} run(s) FAILED)` : "";
        console.log(`  ${s.label.padEnd(56)} CPU ${fmt(m.cpu)} s = ${fmt(m.cpu / base.cpu)}x, wall ${fmt(m.wall)} s = ${fmt(m.wall / base.wall)}x the floor${failed}`);
    }
}

async function benchInProcess(): Promise<void> {
    // In this process, after the first run: the SDKs and the program's modules are loaded.
    const { plan } = await import("./plan");
    const node = process.execPath;
    const floorRuns: Measure[] = [];
    const later: Record<string, number[]> = { dev: [], prod: [] };
    for (const stack of ["dev", "prod"]) await plan({ stack });
    for (let i = 0; i < RUNS; i++) {
        floorRuns.push(measure(node, ["-e", "require('@pulumi/pulumi'); require('@pulumi/aws'); require('@pulumi/awsx'); require('@pulumi/policy');"]));
        for (const stack of ["dev", "prod"]) {
            const cpu = process.cpuUsage();
            await plan({ stack });
            const used = process.cpuUsage(cpu);
            later[stack].push((used.user + used.system) / 1e6);
        }
    }
    const floorCpu = median(floorRuns.map((r) => r.cpu));
    console.log(`Offline plan in-process, after the first run (how the tests plan; CPU against the same floor, ${fmt(floorCpu)} s):`);
    for (const stack of ["dev", "prod"]) console.log(`  ${stack.padEnd(5)} CPU ${fmt(median(later[stack]))} s = ${fmt(median(later[stack]) / floorCpu)}x the floor`);
}

function benchTests(warm: boolean): void {
    const cache = warm ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), "bench-cache-"));
    const times = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-times-")), "files.jsonl");
    const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", PLATFORM_TEST_TIMES: times, ...(cache ? { PLATFORM_CACHE_DIR: cache } : {}) };
    console.log(`npm test (type-check and mocha side by side, 2 jobs) ${warm ? "with the caches as they are" : "from a fresh clone's state (empty transpile cache, no type-check build info)"}; target <= ${TEST_TARGET_S} s wall:`);
    const start = process.hrtime.bigint();
    const r = spawnSync("sh", ["-c", 'npm test --silent; code=$?; times >&2; exit $code'], { cwd: ROOT, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    const seconds = [...r.stderr.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    const fileLines = fs.existsSync(times)
        ? fs
              .readFileSync(times, "utf8")
              .trim()
              .split("\n")
              .filter(Boolean)
              .map((l) => JSON.parse(l) as { files: string[]; wallMs: number; cpuS: number; childrenCpuS: number; warmCliCpuS?: number; runningMotoCpuS?: number })
        : [];
    // The warm AWS CLI's calls (tests/helpers/awsCli.ts) and the moto servers kept between files
    // (tests/helpers/moto.ts) are not children the shell waits for: added from the files' lines.
    const warmCliCpu = fileLines.reduce((sum, f) => sum + (f.warmCliCpuS ?? 0), 0);
    const keptMotoCpu = fileLines.reduce((sum, f) => sum + (f.runningMotoCpuS ?? 0), 0);
    const cpu = (seconds[2] ?? 0) + (seconds[3] ?? 0) + warmCliCpu + keptMotoCpu;
    const counts = (r.stdout.match(/^\s*\d+ (passing|failing|pending)/gm) ?? []).map((l) => l.trim()).join(", ");
    console.log(`  ${fmt(wall, 1)} s wall = ${fmt(wall / TEST_TARGET_S)}x the target; exit ${r.status}; ${counts}`);
    if (r.status !== 0) {
        // Why it failed: the type-check's report (stdout, after the tests) or the temp-directory check (stderr).
        const why = [...r.stdout.split("\n").filter((l) => /Type-check|error TS|^\s+\d+\) /.test(l)), ...r.stderr.split("\n").filter((l) => /left \d+ entr|Error/.test(l))];
        for (const line of why.slice(0, 15)) console.log(`    ${line}`);
    }
    console.log(`  CPU ${fmt(cpu, 0)} s (all processes, of which the warm AWS CLI's calls ${fmt(warmCliCpu, 0)} s) = ${fmt(cpu / wall / os.cpus().length)} of the ${os.cpus().length} cores over the run`);
    if (fileLines.length > 0) {
        const files = fileLines;
        files.sort((a, b) => b.wallMs - a.wallMs);
        console.log("  slowest test files (wall in their worker, CPU of the worker, CPU of the processes they ran):");
        for (const f of files.slice(0, 12)) {
            const name = f.files.map((file) => path.relative(ROOT, file)).join(", ");
            console.log(`    ${fmt(f.wallMs / 1000, 1).padStart(6)} s  ${fmt(f.cpuS, 1).padStart(5)} s  ${fmt(f.childrenCpuS, 1).padStart(5)} s  ${name}`);
        }
    }
    fs.rmSync(path.dirname(times), { recursive: true, force: true });
    if (cache) fs.rmSync(cache, { recursive: true, force: true });
}

async function benchAwsCli(): Promise<void> {
    const s3 = await startS3Server({ bucket: "bench-cli" });
    try {
        const warm = await awsCliCommand();
        const call = (cli: string) => `${cli} --endpoint-url ${s3.endpoint} s3api list-objects-v2 --bucket bench-cli`;
        const runs: Record<"warm" | "cold", number[]> = { warm: [], cold: [] };
        const failed: string[] = [];
        for (let i = 0; i < RUNS * 2; i++) {
            const before = warmAwsCliCpuSeconds();
            const w = measure("sh", ["-c", call(warm)], s3.env);
            // The forked call is the server's child, not the shell's: the server counts its CPU.
            runs.warm.push(w.cpu + warmAwsCliCpuSeconds() - before);
            const c = measure("sh", ["-c", call(REAL_AWS)], s3.env);
            runs.cold.push(c.cpu);
            if (w.code !== 0 || c.code !== 0) failed.push(`run ${i + 1}: warm exit ${w.code}, cold exit ${c.code}`);
        }
        const [w, c] = [median(runs.warm), median(runs.cold)];
        console.log(`One AWS CLI call (ListObjectsV2 to s3rver), CPU, ${RUNS * 2} runs of each, alternating; medians:`);
        console.log(`  cold: /usr/bin/aws started for the call                  CPU ${fmt(c, 3)} s`);
        console.log(`  the tests' warm CLI (client, and the call forked)       CPU ${fmt(w, 3)} s = ${fmt(w / c)}x the cold start${failed.length ? `  (FAILED: ${failed.join("; ")})` : ""}`);
    } finally {
        await s3.stop();
    }
}

async function main(): Promise<void> {
    console.log(`Machine: ${machine()}; load average at start ${load()}`);
    benchPlan();
    await benchInProcess();
    await benchAwsCli();
    if (!process.argv.includes("--skip-tests")) benchTests(process.argv.includes("--warm-tests"));
    console.log(`Load average at the end: ${load()}`);
}

main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
});
