/**
 * Ops CLI for a deployed stack: bake an AMI, back up or restore files now, list backups, status.
 *
 *   npm run ops -- <command> --stack <name> [--outputs FILE] [--timeout SECONDS] [options]
 *
 *   bake        [--git-revision REV]            run the bake runbook, follow its steps, print the AMI id
 *   backup-now                                  run the backup document on the tagged instances now
 *   restore     --snapshot ID|latest --target DIR [--directory DIR] [--instance-id ID] [--from-instance ID]
 *   backups     [--instance-id ID]              list snapshots in S3 with sizes and dates
 *   status                                      last bake, last backup per instance, association runs
 *
 * Stack outputs come from `pulumi stack output --json --stack <name>`, or from `--outputs FILE`
 * (the same JSON). Exit codes: 0 ok, 1 an operation failed, 2 bad arguments/config/credentials,
 * 3 timeout (the operation may still be running: the message says what), 130 interrupted
 * (Ctrl-C: what this run started is cancelled, or the message says what still runs).
 *
 * Commands take injected clients (`OpsContext`), so the tests drive them with mocked SDKs.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
    CancelCommandCommand,
    DescribeAssociationExecutionsCommand,
    DescribeAutomationExecutionsCommand,
    GetAutomationExecutionCommand,
    ListAssociationsCommand,
    ListCommandInvocationsCommand,
    ListCommandsCommand,
    SSMClient,
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

export const COMMANDS = ["bake", "backup-now", "restore", "backups", "status"] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface ParsedArgs {
    command: CommandName;
    stack: string;
    outputsFile?: string;
    timeoutSeconds: number;
    intervalSeconds: number;
    options: Record<string, string>;
}

const FLAGS_WITH_VALUES = new Set(["stack", "outputs", "timeout", "interval", "git-revision", "snapshot", "target", "directory", "instance-id", "from-instance", "tag", "prefix"]);
const DEFAULT_TIMEOUT: Record<CommandName, number> = { bake: 7200, "backup-now": 3600, restore: 3600, backups: 120, status: 120 };

export const USAGE = `usage: npm run ops -- <command> --stack <name> [--outputs FILE] [--timeout SECONDS]
commands: ${COMMANDS.join(", ")}
  bake        [--git-revision REV]
  backup-now  [--tag Key=Value] [--prefix backups/<stack>]
  restore     --snapshot ID|latest --target DIR [--directory DIR] [--instance-id ID] [--from-instance ID]
  backups     [--instance-id ID] [--prefix backups/<stack>]
  status
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
    return parsed;
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
async function followCommand(ctx: OpsContext, args: ParsedArgs, commandId: string, what: string): Promise<number> {
    const seen = new Map<string, string>();
    const result = await follow(
        ctx,
        args,
        async () => {
            const invocations = [];
            let token: string | undefined;
            do {
                const page = await ctx.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, NextToken: token }));
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
    const failed = result.invocations.filter((i) => i.Status !== "Success");
    if (result.invocations.length === 0) {
        ctx.io.err(`${what} command ${commandId} ended ${result.command.Status} on no instance (no instance carries the tag?)`);
        return EXIT.FAILED;
    }
    ctx.io.out(`${what}: ${result.invocations.length - failed.length}/${result.invocations.length} instances succeeded`);
    for (const f of failed) ctx.io.err(`${what} failed on ${f.InstanceId}: ${f.StatusDetails ?? f.Status}`);
    return failed.length === 0 && result.command.Status === "Success" ? EXIT.OK : EXIT.FAILED;
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
    const documents = [ctx.outputs.bakeRunbookName, ctx.outputs.imagingRunbookName, ctx.outputs.backupDocumentName].filter((v): v is string => v !== undefined);
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

export const HANDLERS: Record<CommandName, (ctx: OpsContext, args: ParsedArgs) => Promise<number>> = { bake, "backup-now": backupNow, restore, backups, status };

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
