/**
 * Ops CLI for a deployed stack: bake an AMI, back up or restore files now, list backups, status.
 *
 *   npm run ops -- <command> --stack <name> [--outputs FILE] [--timeout SECONDS] [options]
 *
 *   bake        [--git-revision REV]            run the bake runbook, follow its steps, print the AMI id
 *   backup-now                                  run the backup document on the tagged instances now
 *   restore     --snapshot ID|latest --target DIR [--directory DIR] [--instance-id ID] [--from-instance ID]
 *   backups     [--instance-id ID]              list snapshots in S3 with sizes and dates
 *   status                                      last bake, last backup per instance, association runs, current release
 *   deploy      --release FILE|VERSION [--version V] [--max-concurrency N] [--max-errors N]
 *                                               upload a release (given a file), roll it out one instance at a time
 *   db-bootstrap [--instance-id ID]             create the IAM-authenticated database user (on one web instance)
 *   drill       [--instance-id ID] [--mode auto|extract|stream]
 *                                               run the restore drill now on one web instance; per directory of every live instance: snapshot, age, chain, bytes, seconds, verdict
 *
 * Stack outputs come from `pulumi stack output --json --stack <name>`, or from `--outputs FILE`
 * (the same JSON). Exit codes: 0 ok, 1 an operation failed, 2 bad arguments/config/credentials,
 * 3 timeout (the operation may still be running: the message says what), 130 interrupted
 * (Ctrl-C: what this run started is cancelled, or the message says what still runs).
 *
 * Credentials, region overrides and endpoints come from the AWS SDK's own configuration: the
 * SDK for JavaScript v3 reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (S3, SSM) natively
 * ("Service-specific endpoints", https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html),
 * so `AWS_ENDPOINT_URL=http://127.0.0.1:PORT npm run ops -- ...` talks to a local moto
 * (tests/opsMoto.test.ts), with path-style S3 addressing for an IP endpoint.
 *
 * Commands take injected clients (`OpsContext`), so the tests drive them with mocked SDKs.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import { createHash } from "crypto";
import * as path from "path";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DEFAULT_RELEASE, DEPLOY_EXIT_CODES, RELEASE_VERSION_PATTERN } from "../components/app";
import { DB_BOOTSTRAP_EXIT_CODES } from "../components/dbBootstrap";
import { DRILL_EXIT_CODES } from "../components/backup/exitCodes";
import {
    CancelCommandCommand,
    DescribeAssociationExecutionsCommand,
    DescribeAutomationExecutionsCommand,
    GetAutomationExecutionCommand,
    ListAssociationsCommand,
    ListCommandInvocationsCommand,
    ListCommandsCommand,
    SSMClient,
    DescribeInstanceInformationCommand,
    GetCommandInvocationCommand,
    GetCommandInvocationCommandOutput,
    SendCommandCommand,
    StartAutomationExecutionCommand,
    StopAutomationExecutionCommand,
} from "@aws-sdk/client-ssm";
import { OpsOutputs, opsOutputsSchema, parseOpsOutputs } from "./opsOutputs";

import { runCli } from "./cli";
import { readStackSettings } from "./stackFiles";

/** This project's directory (its stack files say which environment and region each stack is). */
const PROJECT_DIR = path.resolve(__dirname, "..");

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, TIMEOUT: 3, INTERRUPTED: 130 } as const;

/** An error that ends the CLI with a specific exit code and a message for the operator. */
export class OpsError extends Error {
    constructor(
        message: string,
        readonly code: number,
    ) {
        super(message);
        this.name = "OpsError";
    }
}

export const COMMANDS = ["bake", "backup-now", "restore", "backups", "status", "deploy", "db-bootstrap", "drill"] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface ParsedArgs {
    command: CommandName;
    stack: string;
    outputsFile?: string;
    timeoutSeconds: number;
    intervalSeconds: number;
    options: Record<string, string>;
}

const FLAGS_WITH_VALUES = new Set([
    "stack", "outputs", "timeout", "interval", "git-revision", "snapshot", "target", "directory", "instance-id", "from-instance", "tag", "prefix",
    "release", "version", "max-concurrency", "max-errors", "mode",
]);
// drill: the document's own timeout (config backup.drill.timeoutSeconds, 7200 by default) and a margin.
const DEFAULT_TIMEOUT: Record<CommandName, number> = { bake: 7200, "backup-now": 3600, restore: 3600, backups: 120, status: 120, deploy: 3600, "db-bootstrap": 900, drill: 7800 };
export const DRILL_MODES = ["auto", "extract", "stream"] as const;

export const USAGE = `usage: npm run ops -- <command> --stack <name> [--outputs FILE] [--timeout SECONDS]
commands: ${COMMANDS.join(", ")}
  bake        [--git-revision REV] [--release VERSION|current|none]
  backup-now  [--tag Key=Value] [--prefix backups/<stack>]
  restore     --snapshot ID|latest --target DIR [--directory DIR] [--instance-id ID] [--from-instance ID]
  backups     [--instance-id ID] [--prefix backups/<stack>]
  status
  deploy      --release FILE|VERSION [--version V] [--max-concurrency N|N%] [--max-errors N|N%]   (prod: one instance at a time, halting on the first failure)
  db-bootstrap [--instance-id ID]
  drill       [--instance-id ID] [--mode auto|extract|stream]   (on one instance: restore every live instance's directories' latest snapshots, verify, report)
exit codes: 0 ok, 1 operation failed, 2 bad arguments/config, 3 timeout, 130 interrupted`;

/** `ops --help`, `ops -h`, `ops help [command]`, `ops <command> --help`: usage on stdout, exit 0. */
export function wantsHelp(argv: string[]): boolean {
    return argv[0] === "help" || argv.some((a) => a === "--help" || a === "-h");
}

export function parseArgs(argv: string[]): ParsedArgs {
    const [command, ...rest] = argv;
    if (!command || !(COMMANDS as readonly string[]).includes(command)) {
        throw new OpsError(`${command ? `unknown command "${command}"` : "no command given"}\n${USAGE}`, EXIT.USAGE);
    }
    const options: Record<string, string> = {};
    for (let i = 0; i < rest.length; i++) {
        const arg = rest[i];
        const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
        if (!m || !FLAGS_WITH_VALUES.has(m[1])) throw new OpsError(`unknown argument "${arg}"\n${USAGE}`, EXIT.USAGE);
        const value = m[2] ?? rest[++i];
        if (value === undefined || value === "") throw new OpsError(`--${m[1]} needs a value`, EXIT.USAGE);
        options[m[1]] = value;
    }
    if (!options.stack || !/^[A-Za-z0-9_.-]+$/.test(options.stack)) throw new OpsError(`--stack <name> is required (letters, digits, _ . -)\n${USAGE}`, EXIT.USAGE);
    const number = (flag: string, fallback: number) => {
        if (options[flag] === undefined) return fallback;
        const n = Number(options[flag]);
        if (!Number.isFinite(n) || n < 0) throw new OpsError(`--${flag} must be a number of seconds, not "${options[flag]}"`, EXIT.USAGE);
        return n;
    };
    const parsed: ParsedArgs = {
        command: command as CommandName,
        stack: options.stack,
        outputsFile: options.outputs,
        timeoutSeconds: number("timeout", DEFAULT_TIMEOUT[command as CommandName]),
        intervalSeconds: number("interval", 10),
        options,
    };
    if (parsed.command === "restore") {
        if (!options.snapshot || !/^(latest|\d{8}T\d{6}\.\d{3}Z)$/.test(options.snapshot)) throw new OpsError("restore needs --snapshot latest or a snapshot id such as 20250301T021500.123Z", EXIT.USAGE);
        if (!options.target || !options.target.startsWith("/")) throw new OpsError("restore needs --target <absolute directory>", EXIT.USAGE);
    }
    for (const flag of ["instance-id", "from-instance"]) {
        if (options[flag] !== undefined && !/^i-[0-9a-f]{8,17}$/.test(options[flag])) throw new OpsError(`--${flag} must be an instance id such as i-0123456789abcdef0`, EXIT.USAGE);
    }
    if (options.tag !== undefined && !/^[^=]+=.*$/.test(options.tag)) throw new OpsError("--tag must be Key=Value", EXIT.USAGE);
    if (options.mode !== undefined && (parsed.command !== "drill" || !(DRILL_MODES as readonly string[]).includes(options.mode))) {
        throw new OpsError(parsed.command === "drill" ? `--mode must be ${DRILL_MODES.join(", ")}, not "${options.mode}"` : `--mode is an option of drill only`, EXIT.USAGE);
    }
    if (parsed.command === "deploy" && !options.release) throw new OpsError("deploy needs --release FILE (a .tar.gz to upload) or --release VERSION (one already uploaded)", EXIT.USAGE);
    if (options.version !== undefined) checkVersion(options.version, "--version");
    for (const flag of ["max-concurrency", "max-errors"]) {
        if (options[flag] !== undefined && !/^([0-9]+|[0-9]{1,2}%|100%)$/.test(options[flag])) throw new OpsError(`--${flag} must be a number or a percentage such as 1 or 25%`, EXIT.USAGE);
    }
    if (options["max-concurrency"] !== undefined && /^0%?$/.test(options["max-concurrency"])) throw new OpsError("--max-concurrency must be at least 1", EXIT.USAGE);
    if (parsed.command === "bake" && options.release !== undefined && !["current", "none"].includes(options.release)) checkVersion(options.release, "--release");
    return parsed;
}

/** A release version as deploy.sh and the deploy document accept it; `current` and the built-in release are reserved. */
export function checkVersion(version: string, flag: string): string {
    if (!new RegExp(RELEASE_VERSION_PATTERN).test(version) || version.includes("..") || version === "current" || version === "none" || version === DEFAULT_RELEASE) {
        throw new OpsError(`${flag} "${version}" is not a release version: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 (not current, none or ${DEFAULT_RELEASE})`, EXIT.USAGE);
    }
    return version;
}

export type StackOutputs = OpsOutputs;

/** Reads the stack outputs from `--outputs FILE` or the pulumi CLI, validated (tools/opsOutputs.ts). */
export async function loadOutputs(args: ParsedArgs, run: (cmd: string, argv: string[]) => Promise<string> = execText): Promise<StackOutputs> {
    let text: string;
    if (args.outputsFile) {
        try {
            text = fs.readFileSync(args.outputsFile, "utf8");
        } catch (err) {
            throw new OpsError(`cannot read --outputs ${args.outputsFile}: ${(err as Error).message}`, EXIT.USAGE);
        }
    } else {
        try {
            text = await run("pulumi", ["stack", "output", "--json", "--stack", args.stack]);
        } catch (err) {
            throw new OpsError(`cannot read the outputs of stack "${args.stack}" with the pulumi CLI (${(err as Error).message.split("\n")[0]}); log in and select the project, or pass --outputs FILE`, EXIT.USAGE);
        }
    }
    const source = args.outputsFile ? `--outputs ${args.outputsFile}` : `the output of \`pulumi stack output --json --stack ${args.stack}\``;
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        throw new OpsError(`${source} is not JSON: ${(err as Error).message.replace(/\s*\n\s*/g, " ")}`, EXIT.USAGE);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new OpsError(`${source} is not a JSON object of stack outputs (${Array.isArray(parsed) ? "a list" : JSON.stringify(parsed)})`, EXIT.USAGE);
    }
    const problem = outputsProblem(parsed as StackOutputs, args.stack, readStackFile(args.stack));
    if (problem) throw new OpsError(`${source} ${problem}`, EXIT.USAGE);
    let outputs: StackOutputs;
    try {
        outputs = parseOpsOutputs(parsed);
    } catch (err) {
        throw new OpsError(`${source} is not what ops expects: ${(err as Error).message}`, EXIT.USAGE);
    }
    if (outputs.stack !== undefined && outputs.stack !== args.stack) {
        throw new OpsError(`${source} holds the outputs of stack "${outputs.stack}", not --stack ${args.stack}`, EXIT.USAGE);
    }
    return outputs;
}

/** What this project's stack file says about a stack, when the project has one (`Pulumi.<stack>.yaml`). */
export interface StackFileFacts {
    file: string;
    environment?: string;
    region?: string;
}

function readStackFile(stack: string): StackFileFacts | undefined {
    try {
        const settings = readStackSettings(PROJECT_DIR, stack);
        return { file: path.basename(settings.stackFile), environment: settings.config["platform:environment"], region: settings.config["aws:region"] };
    } catch {
        return undefined; // a stack this checkout does not have: the outputs speak for themselves
    }
}

/**
 * Why these are not the outputs of this program's stack `stack`, or undefined. Every stack of
 * the program exports `environment` and `region`; a command must never read another stack's
 * (or a plan's) names and report "not enabled" or act on the wrong buckets.
 */
export function outputsProblem(outputs: StackOutputs, stack: string, stackFile?: StackFileFacts): string | undefined {
    if (Array.isArray(outputs.resources) && typeof outputs.stack === "string") {
        return `is a plan of stack "${outputs.stack}" (npm run plan --json / --out), not stack outputs: use pulumi stack output --json --stack ${stack} > outputs.json`;
    }
    const missing = ["environment", "region"].filter((k) => typeof outputs[k] !== "string" || outputs[k] === "");
    if (missing.length > 0) {
        const present = Object.keys(outputs).sort();
        return `is not the outputs of a stack of this program: ${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} missing (every stack exports environment and region; keys present: ${present.join(", ") || "none"}); use pulumi stack output --json --stack ${stack}`;
    }
    if (stackFile?.environment !== undefined && outputs.environment !== stackFile.environment) {
        return `belongs to a "${String(outputs.environment)}" stack, but ${stackFile.file} says environment "${stackFile.environment}": wrong file for --stack ${stack}?`;
    }
    if (stackFile?.region !== undefined && outputs.region !== stackFile.region) {
        return `belongs to a stack in ${String(outputs.region)}, but ${stackFile.file} says aws:region ${stackFile.region}: wrong file for --stack ${stack}?`;
    }
    return undefined;
}

function execText(cmd: string, argv: string[]): Promise<string> {
    return new Promise((resolve, reject) => execFile(cmd, argv, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))));
}

function requireOutput(outputs: StackOutputs, key: keyof typeof opsOutputsSchema.shape, hint: string): string {
    const v = outputs[key];
    if (typeof v !== "string" || v === "") throw new OpsError(`stack output "${key}" is missing (${hint}); outputs present: ${Object.keys(outputs).sort().join(", ") || "none"}`, EXIT.USAGE);
    return v;
}

export interface OpsIo {
    out(line: string): void;
    err(line: string): void;
}

export interface OpsContext {
    ssm: Pick<SSMClient, "send">;
    s3: Pick<S3Client, "send">;
    io: OpsIo;
    outputs: StackOutputs;
    /** Aborted on Ctrl-C: polling stops and what was started is cancelled. */
    signal: AbortSignal;
    /** Monotonic milliseconds (injectable for tests). */
    now?: () => number;
}

/** Waits `ms`, or less when the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
        if (signal.aborted || ms <= 0) {
            setImmediate(resolve);
            return;
        }
        const timer = setTimeout(done, ms);
        function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
        }
        signal.addEventListener("abort", done, { once: true });
    });
}

/**
 * Polls `poll` until it returns a result, the deadline passes (TIMEOUT) or the signal aborts
 * (INTERRUPTED); `onStop` runs for the latter two and returns the message to end with.
 */
async function follow<T>(ctx: OpsContext, args: ParsedArgs, poll: () => Promise<T | undefined>, onStop: (why: "timeout" | "interrupt") => Promise<string>): Promise<T> {
    const now = ctx.now ?? (() => Date.now());
    const deadline = now() + args.timeoutSeconds * 1000;
    for (;;) {
        if (ctx.signal.aborted) throw new OpsError(await onStop("interrupt"), EXIT.INTERRUPTED);
        const result = await poll();
        if (result !== undefined) return result;
        if (now() >= deadline) throw new OpsError(await onStop("timeout"), EXIT.TIMEOUT);
        await sleep(Math.min(args.intervalSeconds * 1000, Math.max(0, deadline - now())), ctx.signal);
    }
}

const AUTOMATION_DONE = new Set(["Success", "Failed", "Cancelled", "TimedOut", "CompletedWithSuccess", "CompletedWithFailure", "Rejected", "Exited"]);

export async function bake(ctx: OpsContext, args: ParsedArgs): Promise<number> {
    const runbook = requireOutput(ctx.outputs, "bakeRunbookName", "is amiFactory enabled for this stack?");
    const parameters: Record<string, string[]> = {};
    if (args.options["git-revision"]) parameters.GitRevision = [args.options["git-revision"]];
    if (args.options.release) parameters.Release = [args.options.release];
    const started = await ctx.ssm.send(new StartAutomationExecutionCommand({ DocumentName: runbook, Parameters: parameters }));
    const id = started.AutomationExecutionId!;
    ctx.io.out(`started ${runbook}: execution ${id}`);
    const seen = new Map<string, string>();
    const execution = await follow(
        ctx,
        args,
        async () => {
            const e = (await ctx.ssm.send(new GetAutomationExecutionCommand({ AutomationExecutionId: id }))).AutomationExecution ?? {};
            const stepsList = e.StepExecutions ?? [];
            stepsList.forEach((s, i) => {
                const key = s.StepExecutionId ?? s.StepName ?? String(i);
                if (s.StepStatus && seen.get(key) !== s.StepStatus) {
                    seen.set(key, s.StepStatus);
                    ctx.io.out(`[step ${i + 1}/${stepsList.length}] ${s.StepName}: ${s.StepStatus}${s.FailureMessage ? ` - ${s.FailureMessage}` : ""}`);
                }
            });
            return e.AutomationExecutionStatus && AUTOMATION_DONE.has(e.AutomationExecutionStatus) ? e : undefined;
        },
        async (why) => {
            if (why === "interrupt") {
                // Cancel runs the runbook's onCancel path: the builder instance is terminated.
                await ctx.ssm.send(new StopAutomationExecutionCommand({ AutomationExecutionId: id, Type: "Cancel" }));
                return `interrupted: cancelled bake execution ${id} (its cancel path terminates the builder instance)`;
            }
            return `timed out after ${args.timeoutSeconds}s; bake execution ${id} is STILL RUNNING (aws ssm get-automation-execution --automation-execution-id ${id}; stop it with aws ssm stop-automation-execution --type Cancel)`;
        },
    );
    if (execution.AutomationExecutionStatus !== "Success") {
        ctx.io.err(`bake ${id} ended ${execution.AutomationExecutionStatus}${execution.FailureMessage ? `: ${execution.FailureMessage}` : ""}`);
        return EXIT.FAILED;
    }
    const ami = execution.Outputs?.["CreateImage.ImageId"]?.[0];
    ctx.io.out(`baked AMI: ${ami ?? "(no CreateImage.ImageId output)"}`);
    return ami ? EXIT.OK : EXIT.FAILED;
}

const COMMAND_DONE = new Set(["Success", "Cancelled", "Failed", "TimedOut"]);

/** Follows a SendCommand: per-instance progress, exit 1 unless every invocation succeeded. */
async function followCommand(ctx: OpsContext, args: ParsedArgs, commandId: string, what: string, explain?: ExplainExit): Promise<number> {
    return (await followCommandResult(ctx, args, commandId, what, explain)).code;
}

/** Words for a failed invocation's exit code (the document's script documents its codes). */
type ExplainExit = (code: number) => string | undefined;

interface CommandOutcome {
    code: number;
    succeeded: string[];
    failed: string[];
    /** Targets the command was never run on (the rollout halted: MaxErrors reached). */
    notReached: number;
}

async function followCommandResult(ctx: OpsContext, args: ParsedArgs, commandId: string, what: string, explain?: ExplainExit): Promise<CommandOutcome> {
    const seen = new Map<string, string>();
    const result = await follow(
        ctx,
        args,
        async () => {
            const invocations = [];
            let token: string | undefined;
            do {
                const page = await ctx.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, NextToken: token, ...(explain ? { Details: true } : {}) }));
                invocations.push(...(page.CommandInvocations ?? []));
                token = page.NextToken;
            } while (token);
            for (const inv of invocations) {
                const status = inv.StatusDetails ?? inv.Status ?? "Unknown";
                if (seen.get(inv.InstanceId!) !== status) {
                    seen.set(inv.InstanceId!, status);
                    ctx.io.out(`${inv.InstanceId}: ${status}`);
                }
            }
            const command = (await ctx.ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands?.[0];
            return command?.Status && COMMAND_DONE.has(command.Status) ? { command, invocations } : undefined;
        },
        async (why) => {
            if (why === "interrupt") {
                await ctx.ssm.send(new CancelCommandCommand({ CommandId: commandId }));
                return `interrupted: cancelled ${what} command ${commandId} (instances already finished keep their result)`;
            }
            return `timed out after ${args.timeoutSeconds}s; ${what} command ${commandId} is STILL RUNNING (aws ssm list-command-invocations --command-id ${commandId}; cancel with aws ssm cancel-command)`;
        },
    );
    // Invocations that never ran (SSM stopped sending after MaxErrors) are not failures of their instance.
    const ran = result.invocations.filter((i) => !["Pending", "Cancelled"].includes(String(i.Status)));
    const failed = ran.filter((i) => i.Status !== "Success");
    const succeeded = ran.filter((i) => i.Status === "Success").map((i) => i.InstanceId!);
    const targets = Math.max(result.command.TargetCount ?? 0, result.invocations.length);
    const notReached = targets - ran.length;
    if (targets === 0) {
        ctx.io.err(`${what} command ${commandId} ended ${result.command.Status} on no instance (no instance carries the tag?)`);
        return { code: EXIT.FAILED, succeeded, failed: [], notReached: 0 };
    }
    ctx.io.out(`${what}: ${succeeded.length}/${targets} instances succeeded${notReached > 0 ? `, ${notReached} not reached (the rollout stopped at the first failure)` : ""}`);
    for (const f of failed) {
        const code = f.CommandPlugins?.find((p) => p.ResponseCode !== undefined && p.ResponseCode !== 0)?.ResponseCode;
        const meaning = code !== undefined ? explain?.(code) : undefined;
        ctx.io.err(`${what} failed on ${f.InstanceId}: ${f.StatusDetails ?? f.Status}${code !== undefined ? ` (exit ${code}${meaning ? `: ${meaning}` : ""})` : ""}`);
    }
    const ok = failed.length === 0 && notReached === 0 && result.command.Status === "Success";
    return { code: ok ? EXIT.OK : EXIT.FAILED, succeeded, failed: failed.map((f) => f.InstanceId!), notReached };
}

/** The tag the backup targets: `--tag`, else the stack's `backupTag` output (config `webTier.backupTag`). */
function backupTag(args: ParsedArgs, outputs: StackOutputs): { key: string; value: string } {
    if (args.options.tag !== undefined) {
        const i = args.options.tag.indexOf("=");
        return { key: args.options.tag.slice(0, i), value: args.options.tag.slice(i + 1) };
    }
    if (!outputs.backupTag) throw new OpsError(`stack output "backupTag" is missing (is backup enabled for this stack?); pass --tag Key=Value`, EXIT.USAGE);
    return outputs.backupTag;
}

function backupPrefix(args: ParsedArgs, outputs: StackOutputs): string {
    const p = args.options.prefix ?? outputs.backupPrefix ?? `backups/${args.stack}`;
    return p.replace(/^\/+|\/+$/g, "");
}

export async function backupNow(ctx: OpsContext, args: ParsedArgs): Promise<number> {
    const document = requireOutput(ctx.outputs, "backupDocumentName", "is backup enabled for this stack?");
    const logs = requireOutput(ctx.outputs, "logsBucketName", "the bucket for command output");
    const tag = backupTag(args, ctx.outputs);
    // Run Command targets an instance only if it matches every Key ("Run commands at scale":
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/send-commands-multiple.html), and the
    // backup tag alone is shared by every stack in the account: the Stack tag keeps this to ours.
    const sent = await ctx.ssm.send(
        new SendCommandCommand({
            DocumentName: document,
            Targets: [
                { Key: "tag:Stack", Values: [args.stack] },
                { Key: `tag:${tag.key}`, Values: [tag.value] },
            ],
            OutputS3BucketName: logs,
            OutputS3KeyPrefix: ctx.outputs.backupLogPrefix ?? `ssm/backup/${args.stack}`,
            Comment: "ops backup-now",
        }),
    );
    const id = sent.Command!.CommandId!;
    ctx.io.out(`sent ${document} to instances tagged Stack=${args.stack} and ${tag.key}=${tag.value}: command ${id}`);
    return followCommand(ctx, args, id, "backup");
}

/** Reverses backup.sh's slug: `-` is `/`, `_xx` a hex byte (README: key layout). */
export function slugToPath(slug: string): string {
    if (slug === "-") return "/";
    const bytes: number[] = [];
    for (let i = 0; i < slug.length; i++) {
        const c = slug[i];
        if (c === "-") bytes.push(0x2f);
        else if (c === "_") {
            bytes.push(parseInt(slug.slice(i + 1, i + 3), 16));
            i += 2;
        } else bytes.push(c.charCodeAt(0));
    }
    return "/" + Buffer.from(bytes).toString("utf8");
}

export interface Snapshot {
    instanceId: string;
    slug: string;
    directory: string;
    snapshotId: string;
    bytes: number;
    lastModified?: Date;
}

/** Every snapshot under the backup prefix (ListObjectsV2, all pages), oldest first. */
export async function listSnapshots(ctx: OpsContext, bucket: string, prefix: string, instanceId?: string): Promise<Snapshot[]> {
    const base = `${prefix}/${instanceId ? `${instanceId}/` : ""}`;
    const byKey = new Map<string, Snapshot>();
    let token: string | undefined;
    do {
        const page = await ctx.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
            const rel = o.Key!.slice(prefix.length + 1).split("/");
            if (rel.length !== 4) continue; // <instance>/<slug>/<snapshot>/<object>; skips `latest`
            const [inst, slug, snapshotId, object] = rel;
            const key = `${inst}/${slug}/${snapshotId}`;
            const s = byKey.get(key) ?? { instanceId: inst, slug, directory: slugToPath(slug), snapshotId, bytes: 0 };
            s.bytes += o.Size ?? 0;
            if (object === "manifest.json") s.lastModified = o.LastModified;
            byKey.set(key, s);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return [...byKey.values()].sort((a, b) => (a.snapshotId < b.snapshotId ? -1 : a.snapshotId > b.snapshotId ? 1 : 0));
}

export function formatBytes(n: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export async function backups(ctx: OpsContext, args: ParsedArgs): Promise<number> {
    const bucket = requireOutput(ctx.outputs, "backupBucketName", "the backup bucket");
    const list = await listSnapshots(ctx, bucket, backupPrefix(args, ctx.outputs), args.options["instance-id"]);
    if (list.length === 0) {
        ctx.io.out(`no snapshots under s3://${bucket}/${backupPrefix(args, ctx.outputs)}/`);
        return EXIT.OK;
    }
    ctx.io.out(["INSTANCE", "DIRECTORY", "SNAPSHOT", "SIZE", "COMPLETED"].join("\t"));
    for (const s of list) ctx.io.out([s.instanceId, s.directory, s.snapshotId, formatBytes(s.bytes), s.lastModified?.toISOString() ?? "incomplete"].join("\t"));
    return EXIT.OK;
}

export async function restore(ctx: OpsContext, args: ParsedArgs): Promise<number> {
    const document = requireOutput(ctx.outputs, "restoreDocumentName", "is backup enabled for this stack?");
    const logs = requireOutput(ctx.outputs, "logsBucketName", "the bucket for command output");
    let instanceId = args.options["instance-id"];
    let directory = args.options.directory;
    if (!instanceId || !directory) {
        // Fill in what is unambiguous from the backups themselves.
        const bucket = requireOutput(ctx.outputs, "backupBucketName", "the backup bucket");
        const snaps = await listSnapshots(ctx, bucket, backupPrefix(args, ctx.outputs), args.options["from-instance"] ?? instanceId);
        const instances = [...new Set(snaps.map((s) => s.instanceId))];
        if (!instanceId) {
            if (instances.length !== 1) throw new OpsError(`restore: pass --instance-id (backups exist for ${instances.length ? instances.join(", ") : "no instance"})`, EXIT.USAGE);
            instanceId = instances[0];
        }
        if (!directory) {
            const dirs = [...new Set(snaps.filter((s) => s.instanceId === (args.options["from-instance"] ?? instanceId)).map((s) => s.directory))];
            if (dirs.length !== 1) throw new OpsError(`restore: pass --directory (backed-up directories: ${dirs.join(", ") || "none"})`, EXIT.USAGE);
            directory = dirs[0];
        }
    }
    const sent = await ctx.ssm.send(
        new SendCommandCommand({
            DocumentName: document,
            InstanceIds: [instanceId],
            Parameters: { InstanceId: [args.options["from-instance"] ?? instanceId], Directory: [directory], Snapshot: [args.options.snapshot], Target: [args.options.target] },
            OutputS3BucketName: logs,
            OutputS3KeyPrefix: ctx.outputs.restoreLogPrefix ?? `ssm/restore/${args.stack}`,
            Comment: "ops restore",
        }),
    );
    const id = sent.Command!.CommandId!;
    ctx.io.out(`restoring ${directory} snapshot ${args.options.snapshot} into ${args.options.target} on ${instanceId}: command ${id}`);
    return followCommand(ctx, args, id, "restore");
}

export async function status(ctx: OpsContext, args: ParsedArgs): Promise<number> {
    const runbook = ctx.outputs.bakeRunbookName;
    if (runbook) {
        const last = (await ctx.ssm.send(new DescribeAutomationExecutionsCommand({ Filters: [{ Key: "DocumentNamePrefix", Values: [runbook] }], MaxResults: 5 }))).AutomationExecutionMetadataList ?? [];
        const newest = [...last].sort((a, b) => (b.ExecutionStartTime?.getTime() ?? 0) - (a.ExecutionStartTime?.getTime() ?? 0))[0];
        ctx.io.out(newest ? `last bake: ${newest.AutomationExecutionStatus} ${newest.ExecutionStartTime?.toISOString() ?? ""} (${newest.AutomationExecutionId})` : "last bake: none");
    } else {
        ctx.io.out("last bake: AMI factory not enabled");
    }
    if (ctx.outputs.backupBucketName !== undefined) {
        const snaps = await listSnapshots(ctx, ctx.outputs.backupBucketName, backupPrefix(args, ctx.outputs));
        const newest = new Map<string, Snapshot>();
        for (const s of snaps) newest.set(`${s.instanceId} ${s.directory}`, s);
        if (newest.size === 0) ctx.io.out("last backup: none");
        for (const [key, s] of newest) ctx.io.out(`last backup ${key}: ${s.snapshotId} ${formatBytes(s.bytes)}${s.lastModified ? "" : " (incomplete)"}`);
    }
    if (ctx.outputs.releaseBucketName !== undefined) {
        ctx.io.out(`current release: ${(await currentRelease(ctx, ctx.outputs.releaseBucketName, releasePrefix(args, ctx.outputs))) ?? "none (instances serve the built-in page)"}`);
    }
    const documents = [ctx.outputs.bakeRunbookName, ctx.outputs.imagingRunbookName, ctx.outputs.backupDocumentName, ctx.outputs.drillRunbookName].filter((v): v is string => v !== undefined);
    for (const name of documents) {
        const associations = (await ctx.ssm.send(new ListAssociationsCommand({ AssociationFilterList: [{ key: "Name", value: name }] }))).Associations ?? [];
        for (const a of associations) {
            const runs = (await ctx.ssm.send(new DescribeAssociationExecutionsCommand({ AssociationId: a.AssociationId!, MaxResults: 1 }))).AssociationExecutions ?? [];
            const r = runs[0];
            ctx.io.out(
                `association ${a.AssociationName ?? a.AssociationId} (${name}): ${r ? `${r.Status} ${r.CreatedTime?.toISOString() ?? ""} ${r.ResourceCountByStatus ?? ""}`.trim() : "never ran"}` +
                    (a.Overview?.Status ? ` [overview: ${a.Overview.Status}]` : ""),
            );
        }
    }
    return EXIT.OK;
}

/** The S3 key prefix of the stack's releases (`releasePrefix` output, default `releases/<stack>`). */
function releasePrefix(args: ParsedArgs, outputs: StackOutputs): string {
    return outputs.releasePrefix ?? `releases/${args.stack}`;
}

function isMissing(err: unknown): boolean {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

/** The object's text, or undefined when it does not exist. */
async function readText(ctx: OpsContext, bucket: string, key: string): Promise<string | undefined> {
    try {
        const r = await ctx.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await (r.Body as { transformToString(): Promise<string> }).transformToString();
    } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
    }
}

/** The stack's current release (s3://<bucket>/<prefix>/current), if set. */
async function currentRelease(ctx: OpsContext, bucket: string, prefix: string): Promise<string | undefined> {
    return (await readText(ctx, bucket, `${prefix}/current`))?.split("\n")[0].trim() || undefined;
}

/**
 * Uploads FILE as release VERSION (the archive first, its checksum last: deploy.sh refuses a
 * release without a checksum, so a half-done upload is never installed). Versions are
 * immutable: the same version with other bytes is refused.
 */
async function uploadRelease(ctx: OpsContext, bucket: string, prefix: string, file: string, version: string): Promise<void> {
    const bytes = fs.readFileSync(file);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const key = `${prefix}/${version}.tar.gz`;
    const existing = await readText(ctx, bucket, `${key}.sha256`);
    if (existing !== undefined) {
        const published = existing.trim().split(/\s+/)[0];
        if (published !== sha256) {
            throw new OpsError(`release ${version} already exists in s3://${bucket}/${prefix}/ with another checksum (${published}); releases are immutable: give this build a new version (--version)`, EXIT.USAGE);
        }
        ctx.io.out(`release ${version} is already uploaded (sha256 ${sha256})`);
        return;
    }
    ctx.io.out(`uploading ${file} as s3://${bucket}/${key} (${formatBytes(bytes.length)}, sha256 ${sha256})`);
    await ctx.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: "application/gzip", ChecksumAlgorithm: "SHA256" }));
    await ctx.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.sha256`, Body: `${sha256}  ${version}.tar.gz\n`, ContentType: "text/plain" }));
}

/** Where a command for the web tier goes: the group's instances (by the tag Auto Scaling puts on them), or the single instance. */
function webTargets(outputs: StackOutputs): { Targets?: Array<{ Key: string; Values: string[] }>; InstanceIds?: string[]; what: string } {
    if (outputs.autoScalingGroupName) {
        // EC2 Auto Scaling tags each instance it launches with aws:autoscaling:groupName.
        return { Targets: [{ Key: "tag:aws:autoscaling:groupName", Values: [outputs.autoScalingGroupName] }], what: `the instances of ${outputs.autoScalingGroupName}` };
    }
    if (outputs.webInstanceId) {
        return { InstanceIds: [outputs.webInstanceId], what: `instance ${outputs.webInstanceId}` };
    }
    throw new OpsError("stack outputs name no web instances (autoScalingGroupName or webInstanceId)", EXIT.USAGE);
}

/**
 * Uploads a release (given a file) and rolls it out with Run Command: one instance at a time in
 * prod (MaxConcurrency 1, MaxErrors 0: SSM stops at the first failure), each instance running
 * deploy.sh (verify, install, switch, restart, health check, roll back). Only when every
 * instance succeeded does `current` move to the new version (what new instances install).
 */
export async function deploy(ctx: OpsContext, args: ParsedArgs): Promise<number> {
    const document = requireOutput(ctx.outputs, "deployDocumentName", "the deploy Command document of the web tier");
    const bucket = requireOutput(ctx.outputs, "releaseBucketName", "the release bucket");
    const logs = requireOutput(ctx.outputs, "logsBucketName", "the bucket for command output");
    const prefix = releasePrefix(args, ctx.outputs);
    const production = ctx.outputs.environment === "prod";
    const given = args.options.release;
    let version: string;
    if (fs.existsSync(given) && fs.statSync(given).isFile()) {
        version = checkVersion(args.options.version ?? path.basename(given).replace(/\.(tar\.gz|tgz)$/, ""), args.options.version ? "--version" : "the file name (or --version)");
        await uploadRelease(ctx, bucket, prefix, given, version);
    } else {
        if (/[\\/]|\.(tar\.gz|tgz)$/.test(given)) throw new OpsError(`--release ${given}: no such file`, EXIT.USAGE);
        version = checkVersion(given, "--release");
        for (const key of [`${prefix}/${version}.tar.gz`, `${prefix}/${version}.tar.gz.sha256`]) {
            try {
                await ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
            } catch (err) {
                if (isMissing(err)) throw new OpsError(`no release ${version} in s3://${bucket}/${prefix}/ (${key.split("/").pop()} is missing); upload one with --release FILE`, EXIT.USAGE);
                throw err;
            }
        }
    }
    const maxConcurrency = args.options["max-concurrency"] ?? "1";
    const maxErrors = args.options["max-errors"] ?? "0";
    if (production && (maxConcurrency !== "1" || maxErrors !== "0")) {
        throw new OpsError("prod deploys one instance at a time and stops at the first failure: --max-concurrency and --max-errors cannot be changed there", EXIT.USAGE);
    }
    const previous = await currentRelease(ctx, bucket, prefix);
    const targets = webTargets(ctx.outputs);
    const sent = await ctx.ssm.send(
        new SendCommandCommand({
            DocumentName: document,
            ...(targets.Targets ? { Targets: targets.Targets } : { InstanceIds: targets.InstanceIds }),
            Parameters: { Release: [version] },
            MaxConcurrency: maxConcurrency,
            MaxErrors: maxErrors,
            OutputS3BucketName: logs,
            OutputS3KeyPrefix: `ssm/deploy/${args.stack}`,
            Comment: `ops deploy ${version}`.slice(0, 100),
        }),
    );
    const id = sent.Command!.CommandId!;
    ctx.io.out(`deploying ${version} (current: ${previous ?? "none"}) to ${targets.what}, ${maxConcurrency} at a time, ${maxErrors === "0" ? "stopping at the first failure" : `stopping when more than ${maxErrors} fail`}: command ${id}`);
    const outcome = await followCommandResult(ctx, args, id, "deploy", (code) => DEPLOY_EXIT_CODES[code]);
    if (outcome.code !== EXIT.OK) {
        ctx.io.err(
            `deploy of ${version} stopped: ${outcome.succeeded.length ? `${outcome.succeeded.join(", ")} run ${version}; ` : ""}` +
                `the current release stays ${previous ?? "unset"} (new instances install it). Fix the release and deploy a new version, or deploy ${previous ?? "the previous version"} to bring every instance back.`,
        );
        return outcome.code;
    }
    await ctx.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/current`, Body: `${version}\n`, ContentType: "text/plain" }));
    ctx.io.out(`current release: ${version} (was ${previous ?? "none"}); new instances install it at boot`);
    return EXIT.OK;
}

/** One online web instance (SSM-managed), or the one given. */
async function oneWebInstance(ctx: OpsContext, args: ParsedArgs): Promise<string> {
    if (args.options["instance-id"]) return args.options["instance-id"];
    const targets = webTargets(ctx.outputs);
    if (targets.InstanceIds) return targets.InstanceIds[0];
    return lowestOnline(targets, await webInstanceInformation(ctx, targets));
}

function lowestOnline(targets: ReturnType<typeof webTargets>, info: { online: string[] }): string {
    if (info.online.length === 0) throw new OpsError(`no web instance of ${targets.what} is online in SSM; pass --instance-id`, EXIT.FAILED);
    return info.online[0];
}

/**
 * The web tier's instances as SSM lists them, sorted: every one (DescribeInstanceInformation lists
 * no stopped or terminated instance: AWS Systems Manager API Reference,
 * DescribeInstanceInformation) and those whose agent is Online. The tag filter alone: the API
 * refuses a tag filter combined with another filter type ("Tag filters can't be combined with
 * other filter types"), so Online is judged here.
 */
async function webInstanceInformation(ctx: OpsContext, targets: ReturnType<typeof webTargets>): Promise<{ listed: string[]; online: string[] }> {
    const online: string[] = [];
    const listed = new Set<string>();
    let NextToken: string | undefined;
    do {
        const info = await ctx.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: targets.Targets![0].Key, Values: targets.Targets![0].Values }], NextToken }));
        for (const i of info.InstanceInformationList ?? []) {
            if (!i.InstanceId) continue;
            listed.add(i.InstanceId);
            if (i.PingStatus === "Online") online.push(i.InstanceId);
        }
        NextToken = info.NextToken;
    } while (NextToken);
    return { listed: [...listed].sort(), online: online.sort() };
}

/** Runs the db-bootstrap document on one web instance: the IAM-authenticated user and its grants. */
export async function dbBootstrap(ctx: OpsContext, args: ParsedArgs): Promise<number> {
    const document = requireOutput(ctx.outputs, "dbBootstrapDocumentName", "is the database enabled for this stack?");
    const logs = requireOutput(ctx.outputs, "logsBucketName", "the bucket for command output");
    const instance = await oneWebInstance(ctx, args);
    const sent = await ctx.ssm.send(
        new SendCommandCommand({
            DocumentName: document,
            InstanceIds: [instance],
            OutputS3BucketName: logs,
            OutputS3KeyPrefix: `ssm/db-bootstrap/${args.stack}`,
            Comment: "ops db-bootstrap",
        }),
    );
    const id = sent.Command!.CommandId!;
    ctx.io.out(`creating the IAM database user from ${instance}: command ${id}`);
    return followCommand(ctx, args, id, "db-bootstrap", (code) => DB_BOOTSTRAP_EXIT_CODES[code]);
}

/** One line of drill.sh's stdout (components/ssm/README.md, drill.sh). */
export interface DrillLine {
    /** Seconds since the snapshot was taken, when the drill read it ("-" unknown). */
    ageSeconds: string;
    instance: string;
    slug: string;
    directory: string;
    snapshot: string;
    chain: string;
    archiveBytes: string;
    entries: string;
    bytes: string;
    seconds: string;
    mode: string;
    verdict: string;
    detail: string;
}

/**
 * The drill's result lines: `drill<TAB>instance<TAB>slug<TAB>snapshot<TAB>chain<TAB>archive-bytes<TAB>entries<TAB>bytes<TAB>seconds<TAB>mode<TAB>verdict<TAB>detail<TAB>snapshot-age-seconds`
 * (a drill document from before the age field prints 12 fields: age "-").
 */
export function parseDrillLines(stdout: string): DrillLine[] {
    return stdout
        .split("\n")
        .filter((l) => l.startsWith("drill\t"))
        .map((l) => l.split("\t"))
        .filter((f) => f.length === 12 || f.length === 13)
        .map(([, instance, slug, snapshot, chain, archiveBytes, entries, bytes, seconds, mode, verdict, detail, ageSeconds = "-"]) => ({
            ageSeconds,
            instance,
            slug,
            directory: slugToPath(slug),
            snapshot,
            chain,
            archiveBytes,
            entries,
            bytes,
            seconds,
            mode,
            verdict,
            detail,
        }));
}

/** drill.sh's passing verdicts: "ok", and "ok (checksums only: format 1 manifest)" for a manifest that records no tree counts. */
export function drillVerdictPassed(verdict: string): boolean {
    return verdict === "ok" || verdict.startsWith("ok (");
}

/** A snapshot's age for the table: "45m", "5h12m", "3d4h"; "-" when unknown. */
export function formatAge(seconds: string): string {
    if (!/^\d+$/.test(seconds)) return "-";
    const s = Number(seconds);
    if (s < 3600) return `${Math.floor(s / 60)}m`;
    if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
    return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

const INVOCATION_DONE = new Set(["Success", "Cancelled", "TimedOut", "Failed"]);

/** `s3://`-less bucket and key of an SSM output URL (https://s3.<region>.amazonaws.com/<bucket>/<key> or https://<bucket>.s3.<region>.amazonaws.com/<key>). */
export function s3UrlLocation(url: string): { bucket: string; key: string } | undefined {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        return undefined;
    }
    const path = decodeURIComponent(u.pathname.replace(/^\//, ""));
    const virtual = /^(.+)\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$/.exec(u.hostname);
    if (virtual) return path ? { bucket: virtual[1], key: path } : undefined;
    if (/^s3[.-]([a-z0-9-]+\.)?amazonaws\.com$/.test(u.hostname)) {
        const slash = path.indexOf("/");
        return slash > 0 ? { bucket: path.slice(0, slash), key: path.slice(slash + 1) } : undefined;
    }
    return undefined;
}

/**
 * Runs the restore drill document now on one web instance (the one given, or the first online
 * one) and reports per directory what drill.sh printed. Exit 0 only when the command succeeded
 * and every directory's verdict is ok.
 */
export async function drill(ctx: OpsContext, args: ParsedArgs): Promise<number> {
    const document = requireOutput(ctx.outputs, "drillDocumentName", "is the restore drill enabled for this stack (config backup.drill.enabled)?");
    const logs = requireOutput(ctx.outputs, "logsBucketName", "the bucket for command output");
    // Where it runs (the given instance, or the lowest online one), and which instances' backups it
    // drills: the live ones only, as the scheduled runbook does (a terminated instance's chain
    // expires under the lifecycle rules; it is not the fleet's restore proof).
    const targets = webTargets(ctx.outputs);
    const given = args.options["instance-id"];
    let instance: string;
    let live: string[];
    if (targets.InstanceIds) {
        instance = given ?? targets.InstanceIds[0];
        live = targets.InstanceIds;
    } else {
        const info = await webInstanceInformation(ctx, targets);
        instance = given ?? lowestOnline(targets, info);
        live = info.listed;
    }
    if (!live.includes(instance)) live = [...live, instance].sort();
    const sent = await ctx.ssm.send(
        new SendCommandCommand({
            DocumentName: document,
            InstanceIds: [instance],
            Parameters: { ...(args.options.mode ? { Mode: [args.options.mode] } : {}), Instances: [live.join(" ")] },
            OutputS3BucketName: logs,
            OutputS3KeyPrefix: ctx.outputs.drillLogPrefix ?? `ssm/drill/${args.stack}`,
            Comment: "ops drill",
        }),
    );
    const id = sent.Command!.CommandId!;
    ctx.io.out(`restore drill of stack ${args.stack} on ${instance}${args.options.mode ? ` (mode ${args.options.mode})` : ""}: command ${id}`);
    const now = ctx.now ?? (() => Date.now());
    const started = now();
    let lastStatus = "";
    let shown = 0;
    const invocation = await follow(
        ctx,
        args,
        async () => {
            let r: GetCommandInvocationCommandOutput;
            try {
                r = await ctx.ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: instance }));
            } catch (err) {
                // Right after SendCommand the invocation may not exist yet.
                if ((err as { name?: string }).name === "InvocationDoesNotExist") return undefined;
                throw err;
            }
            const status = r.StatusDetails ?? r.Status ?? "Unknown";
            if (status !== lastStatus) {
                lastStatus = status;
                ctx.io.out(`${instance}: ${status} (${Math.round((now() - started) / 1000)}s)`);
            }
            // Directories as they finish, when SSM already has part of the output.
            const lines = parseDrillLines(r.StandardOutputContent ?? "");
            for (const l of lines.slice(shown)) ctx.io.out(`  ${l.directory} of ${l.instance}: ${l.verdict} (${l.seconds}s)`);
            shown = Math.max(shown, lines.length);
            return r.Status && INVOCATION_DONE.has(r.Status) ? r : undefined;
        },
        async (why) => {
            if (why === "interrupt") {
                await ctx.ssm.send(new CancelCommandCommand({ CommandId: id }));
                // SIGTERM from the agent: drill.sh removes its scratch copy; if the agent has to kill it
                // (SIGKILL), the next drill on that instance removes what it left.
                return `interrupted: cancelled drill command ${id} (the drill removes its scratch copy when it stops; one it could not remove, after a kill, is removed by the next drill on ${instance})`;
            }
            return `timed out after ${args.timeoutSeconds}s; drill command ${id} is STILL RUNNING on ${instance} (aws ssm get-command-invocation --command-id ${id} --instance-id ${instance})`;
        },
    );
    let stdout = invocation.StandardOutputContent ?? "";
    // SSM keeps the first 24,000 characters; the whole output is in the logs bucket.
    if (stdout.includes("--Output truncated--") && invocation.StandardOutputUrl) {
        const where = s3UrlLocation(invocation.StandardOutputUrl);
        const full = where ? await readText(ctx, where.bucket, where.key) : undefined;
        if (full !== undefined) stdout = full;
        else ctx.io.err(`the drill's output is truncated and ${invocation.StandardOutputUrl} could not be read: the table below may be incomplete`);
    }
    const lines = parseDrillLines(stdout);
    if (lines.length > 0) {
        // RESTORED: the bytes the drill counted in the restored tree ("-" when it streamed: nothing
        // was extracted; the detail line says what was listed); COMPRESSED: the chain's archives.
        ctx.io.out(["INSTANCE", "DIRECTORY", "SNAPSHOT", "AGE", "CHAIN", "RESTORED", "COMPRESSED", "SECONDS", "MODE", "VERDICT"].join("\t"));
        for (const l of lines) {
            const size = (v: string) => (/^\d+$/.test(v) ? formatBytes(Number(v)) : v);
            ctx.io.out([l.instance, l.directory, l.snapshot, formatAge(l.ageSeconds), l.chain, size(l.bytes), size(l.archiveBytes), l.seconds, l.mode, l.verdict].join("\t"));
        }
        for (const l of lines.filter((x) => x.mode === "stream" && drillVerdictPassed(x.verdict))) ctx.io.out(`${l.directory} of ${l.instance}: ${l.detail}`);
        for (const l of lines.filter((x) => !drillVerdictPassed(x.verdict))) ctx.io.err(`drill of ${l.directory} (${l.instance}) failed: ${l.detail}`);
    }
    const ok = lines.filter((l) => drillVerdictPassed(l.verdict)).length;
    const code = invocation.ResponseCode;
    if (invocation.Status === "Success" && lines.length > 0 && ok === lines.length) {
        ctx.io.out(`drill: ${ok}/${lines.length} directories restored and verified`);
        return EXIT.OK;
    }
    const meaning = code !== undefined && code >= 0 ? DRILL_EXIT_CODES[code] : undefined;
    ctx.io.err(
        `drill ${invocation.Status === "Success" ? "printed no directory" : `ended ${invocation.StatusDetails ?? invocation.Status}`} on ${instance}` +
            `${code !== undefined && code >= 0 && invocation.Status !== "Success" ? ` (exit ${code}${meaning ? `: ${meaning}` : ""})` : ""}: ${ok}/${lines.length} directories verified` +
            `${invocation.StandardErrorContent ? `; last error: ${invocation.StandardErrorContent.trim().split("\n").pop()}` : ""}`,
    );
    return EXIT.FAILED;
}

export const HANDLERS: Record<CommandName, (ctx: OpsContext, args: ParsedArgs) => Promise<number>> = { bake, "backup-now": backupNow, restore, backups, status, deploy, "db-bootstrap": dbBootstrap, drill };

function isCredentialsError(err: unknown): boolean {
    const e = err as { name?: string; message?: string };
    return e?.name === "CredentialsProviderError" || /Could not load credentials|credential|ExpiredToken|UnrecognizedClientException|InvalidClientTokenId/i.test(`${e?.name} ${e?.message}`);
}

export interface MainDeps {
    ssm?: OpsContext["ssm"];
    s3?: OpsContext["s3"];
    io?: OpsIo;
    signal?: AbortSignal;
    runPulumi?: (cmd: string, argv: string[]) => Promise<string>;
    now?: () => number;
}

/** Runs one CLI invocation and returns its exit code (never throws). */
export async function main(argv: string[], deps: MainDeps = {}): Promise<number> {
    const io = deps.io ?? { out: (l) => process.stdout.write(l + "\n"), err: (l) => process.stderr.write(l + "\n") };
    if (wantsHelp(argv)) {
        io.out(USAGE);
        return EXIT.OK;
    }
    try {
        const args = parseArgs(argv);
        const outputs = await loadOutputs(args, deps.runPulumi);
        const region = outputs.region;
        const ctx: OpsContext = {
            ssm: deps.ssm ?? new SSMClient({ region }),
            s3: deps.s3 ?? new S3Client({ region }),
            io,
            outputs,
            signal: deps.signal ?? new AbortController().signal,
            now: deps.now,
        };
        return await HANDLERS[args.command](ctx, args);
    } catch (err) {
        if (err instanceof OpsError) {
            io.err(`ops: ${err.message}`);
            return err.code;
        }
        if (isCredentialsError(err)) {
            io.err(`ops: no usable AWS credentials (${(err as Error).message}); sign in (aws sso login / AWS_PROFILE) and retry`);
            return EXIT.USAGE;
        }
        io.err(`ops: ${(err as Error)?.name ?? "Error"}: ${(err as Error)?.message ?? String(err)}`);
        return EXIT.FAILED;
    }
}

if (require.main === module) {
    // The SDK warns on every run that its releases after January 2027 need Node 22: a notice for
    // whoever upgrades the toolchain, not for each operator command, whose first lines it buries.
    // This is the SDK's own switch for exactly that warning (aws/aws-sdk-js-v3#7983); other
    // warnings still show, and setting it to anything else brings this one back.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const controller = new AbortController();
    process.on("SIGINT", () => {
        if (controller.signal.aborted) process.exit(EXIT.INTERRUPTED);
        process.stderr.write("ops: interrupt: stopping (Ctrl-C again to quit at once)\n");
        controller.abort();
    });
    runCli("ops", (argv) => main(argv, { signal: controller.signal }), EXIT.FAILED, { exitWhenDone: true });
}
