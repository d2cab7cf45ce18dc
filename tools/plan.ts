/**
 * `npm run plan -- --stack <name> [--config FILE] [--program DIR] [--json] [--out FILE]
 *                 [--policy-config FILE]`
 *
 * Runs the program offline for one stack, judges the resource graph with the policy pack,
 * and prints the plan. With `--diff BASE.json` it prints what changes against an earlier
 * plan instead (Markdown, or JSON with `--json`): replacements, data-loss risks, security
 * widening and the cost change. Exit codes: 0 no mandatory violation; 1 mandatory
 * violation(s), or (with --diff) a replacement or deletion of a protected resource, which
 * `pulumi up` would refuse; 2 bad arguments, bad config or a program error (the message names
 * every problem). As a process it writes its results only once the run has settled: exit 2
 * always means nothing on stdout (see heldUntilSettled).
 */
import * as fs from "fs";
import * as path from "path";
import type { StackConfig } from "../config";
import { suggest } from "../config/suggest";
import { describeError, runCli } from "./cli";
import { estimateCost, graphRegion } from "./cost";
import { Graph } from "./graph";
import type { PolicyConfig } from "./policyCheck";
import { ConfigProblem, configError, mergeProblems, ProgramError } from "./programError";
import type { StackSettings } from "./stackFiles";

const PROJECT_DIR = path.resolve(__dirname, "..");

export interface PlanOptions {
    stack: string;
    configFile?: string;
    programDir?: string;
    json: boolean;
    out?: string;
    policyConfig?: string;
    /** Base graph JSON (from an earlier `--out`): print a Markdown diff against it instead of the tree. */
    diff?: string;
    /** Plan as `pulumi preview` sees it: provider-computed values (ids, ARNs) unknown. */
    preview?: boolean;
}

export class UsageError extends Error {}

export const USAGE = "usage: npm run plan -- --stack <name> [--config FILE] [--program DIR] [--json] [--out FILE] [--policy-config FILE] [--diff BASE.json] [--preview]";

const HELP = `Runs the program offline for one stack (no AWS account, Pulumi CLI or plugin), judges it with the policy pack and prints the plan.
exit codes: 0 no mandatory policy violation; 1 mandatory violation(s); 2 bad arguments, stack file, policy config or a program error (one message on stderr)
machine-readable output: npm run -s plan -- --stack <name> --json (-s keeps npm's banner off stdout)`;

export function parseArgs(argv: string[]): PlanOptions {
    const options: Partial<PlanOptions> = { json: false };
    const problems: string[] = [];
    const valueFlags: Record<string, keyof PlanOptions> = { "--stack": "stack", "--config": "configFile", "--program": "programDir", "--out": "out", "--policy-config": "policyConfig", "--diff": "diff" };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
        if (flag === "--json") {
            options.json = true;
        } else if (flag === "--preview") {
            options.preview = true;
        } else if (flag in valueFlags) {
            const value = inline ?? argv[++i];
            if (value === undefined || value.startsWith("--")) {
                problems.push(`${flag} needs a value`);
                if (value !== undefined) i--;
            } else {
                (options as Record<string, unknown>)[valueFlags[flag]] = value;
            }
        } else if (flag === "--help" || flag === "-h") {
            throw new UsageError(USAGE);
        } else {
            problems.push(`unknown argument ${arg}${arg.startsWith("-") ? suggest(flag, [...Object.keys(valueFlags), "--json", "--preview", "--help"]) : ""}`);
        }
    }
    if (!options.stack) {
        if (!problems.includes("--stack needs a value")) problems.push("--stack is required");
    }
    else if (!/^[A-Za-z0-9_.-]+$/.test(options.stack)) problems.push(`--stack "${options.stack}" may contain only letters, digits, '-', '_' and '.'`);
    if (problems.length > 0) throw new UsageError(`${problems.join("; ")}\n${USAGE}`);
    return options as PlanOptions;
}

/**
 * Runs the whole plan and returns the graph with its violations. Throws ProgramError (the
 * program or its config) or PolicyConfigError. The engine, the program's config and the
 * policy rules load here, not at start-up: a bad argument is reported at once. `checked.base`,
 * when given without a cost estimate (a graph from before estimates existed), is estimated
 * with the same cost settings, in its own region.
 */
export async function plan(options: Omit<PlanOptions, "json" | "out">, checked: { policyConfig?: PolicyConfig; base?: Graph } = {}): Promise<Graph> {
    const { loadPolicyConfig, runPolicies } = await import("./policyCheck");
    const policyConfig = checked.policyConfig ?? (options.policyConfig ? loadPolicyConfig(options.policyConfig) : undefined);
    const { runOffline } = await import("./offline");
    // After the engine's modules, not before: with zod and the config modules loaded first, the
    // rest of the plan took about 0.1 s more CPU (measured side by side), on every plan.
    const checkedConfig = await checkProjectStackFile(options);
    const { graph, settings } = await runOffline({ stack: options.stack, configFile: options.configFile, programDir: options.programDir, preview: options.preview });
    graph.violations = await runPolicies(graph, policyConfig ? { config: policyConfig } : undefined);
    const costConfig = checkedConfig?.cost ?? (await otherProgramCost(settings, graph));
    graph.cost = estimateCost(graph, { region: graphRegion(graph), ...costConfig });
    const base = checked.base;
    if (base && !base.cost) base.cost = estimateCost(base, { region: graphRegion(base), ...costConfig });
    return graph;
}

/** Whether `dir` is this project (by its real path: a symlink to it is too, a copy is another program). */
function isThisProject(dir: string): boolean {
    try {
        return fs.realpathSync(dir) === fs.realpathSync(PROJECT_DIR);
    } catch {
        return false; // no such directory: the engine says so
    }
}

/**
 * The project's own program (index.ts) validates its stack file with parseStackConfig before it
 * declares anything, so a bad file is judged here, before the program and the AWS SDKs it
 * imports load (`npm run plan` then exits 2 after about 0.5 s of CPU instead of 0.9 s): the same
 * checks on the same config the engine would hand the program, and the same message and exit
 * code the run would end with. Returns the validated config, or undefined for another program
 * (--program), which validates its own.
 */
export async function checkProjectStackFile(options: Pick<PlanOptions, "stack" | "configFile" | "programDir">): Promise<StackConfig | undefined> {
    if (!isThisProject(options.programDir ?? PROJECT_DIR)) return undefined;
    const { readStackSettings } = await import("./stackFiles");
    let settings: StackSettings;
    try {
        settings = readStackSettings(PROJECT_DIR, options.stack, options.configFile);
    } catch (err) {
        throw new ProgramError((err as Error).message, "config");
    }
    const { ConfigError, parseStackConfig } = await import("../config");
    let config: StackConfig | undefined;
    let programProblems: ConfigProblem[] = [];
    try {
        config = parseStackConfig(settings.config, settings.project.name, options.stack);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        programProblems = err.problems;
    }
    if (config && settings.problems.length === 0) return config;
    throw configError(options.stack, mergeProblems(settings.problems, programProblems));
}

/** Another program's cost settings: a copy of this one has the `cost` section; any other, none. */
async function otherProgramCost(settings: StackSettings, graph: Graph): Promise<StackConfig["cost"]> {
    const { parseStackConfig } = await import("../config");
    try {
        return parseStackConfig(settings.config, graph.project, graph.stack).cost;
    } catch {
        return { s3ExpectedGb: 0, cloudFrontGbPerMonth: 0 };
    }
}

export function exitCodeFor(graph: Graph): number {
    return graph.violations.some((v) => v.level === "mandatory") ? 1 : 0;
}

/** Where `main` puts its results: the process's streams and files, or (as the CLI runs it) a queue written once the process settles. */
export interface PlanIo {
    out(text: string): void;
    err(text: string): void;
    writeFile(file: string, text: string): void;
}

const direct: PlanIo = {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    writeFile: (file, text) => {
        fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        fs.writeFileSync(file, text);
    },
};

/**
 * Results held until the process has nothing left to run (`beforeExit`), then written. A
 * program can still fail after its code returned (a timer that throws, a rejection nobody
 * awaited); the CLI's last-resort handler then exits 2 before anything held is written, so
 * exit 2 always comes with an empty stdout and no `--out` file, never with a plan printed
 * before the failure.
 */
export function heldUntilSettled(): PlanIo {
    const queue: Array<() => void> = [];
    let flushed = false;
    process.once("beforeExit", () => {
        flushed = true;
        // Writes to pipes and files are synchronous on Linux: all of it is out before the exit.
        for (const write of queue.splice(0)) write();
    });
    const hold = (write: () => void) => (flushed ? write() : void queue.push(write));
    return {
        out: (text) => hold(() => direct.out(text)),
        err: (text) => hold(() => direct.err(text)),
        writeFile: (file, text) => hold(() => direct.writeFile(file, text)),
    };
}

export async function main(argv: string[], io: PlanIo = direct): Promise<number> {
    let options: PlanOptions;
    try {
        options = parseArgs(argv);
    } catch (err) {
        if (err instanceof UsageError && argv.some((a) => a === "--help" || a === "-h")) {
            io.out(`${USAGE}\n${HELP}\n`);
            return 0;
        }
        io.err(`${(err as Error).message}\n`);
        return 2;
    }
    let base: Graph | undefined;
    if (options.diff) {
        try {
            const { parseGraphJson } = await import("./planDiff");
            base = parseGraphJson(fs.readFileSync(options.diff, "utf8"), options.diff);
            if (base.stack !== options.stack) throw new Error(`${options.diff} is the plan of stack "${base.stack}", not "${options.stack}"`);
        } catch (err) {
            io.err(`--diff: ${(err as Error).message}\n`);
            return 2;
        }
    }
    let graph: Graph;
    try {
        // The policy config is read before the (slower) program run: a typo in it fails at once.
        const { loadPolicyConfig } = await import("./policyCheck");
        const policyConfig = options.policyConfig ? loadPolicyConfig(options.policyConfig) : undefined;
        graph = await plan(options, { policyConfig, base });
    } catch (err) {
        // One message: the program's (it names every bad key), the policy config's, or what failed.
        const known = (err as Error).name;
        io.err(known === "ProgramError" || known === "PolicyConfigError" ? `${(err as Error).message}\n` : `plan failed: ${describeError(err)}\n`);
        return 2;
    }
    const json = JSON.stringify(graph, null, 2);
    if (options.out) {
        io.writeFile(options.out, json + "\n");
    }
    if (!base) {
        io.out(options.json ? json + "\n" : (await import("./planReport")).renderPlan(graph) + "\n");
        return exitCodeFor(graph);
    }
    // The diff's modules (replacement tables, security and cost diffs) load only for --diff.
    const { diffGraphs, renderDiffMarkdown } = await import("./planDiff");
    const diff = diffGraphs(base, graph);
    io.out(options.json ? JSON.stringify(diff, null, 2) + "\n" : renderDiffMarkdown(diff, { stack: graph.stack }));
    for (const refusal of diff.gate) io.err(`refused: ${refusal.message}\n`);
    return diff.gate.length > 0 ? 1 : exitCodeFor(graph);
}

if (require.main === module) {
    runCli("plan", (argv) => main(argv, heldUntilSettled()), 2);
}
