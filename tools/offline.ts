/**
 * The offline engine: runs a Pulumi program for one stack under Pulumi's own mock runtime
 * and records every resource registration exactly as the real engine would receive it
 * (type, name, parent, dependencies, property dependencies, protect, inputs). There is no
 * AWS account, CLI or provider plugin here; `tools/mocks.ts` answers for AWS.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { claimAsyncErrors } from "./cli";
import { COMPUTED, Graph, GraphResource, PlanWarning, SECRET } from "./graph";
import { OfflineMocks } from "./mocks";
import { ConfigProblem, ProgramError, configError, mergeProblems } from "./programError";
import { readStackSettings, StackSettings } from "./stackFiles";

/* eslint-disable @typescript-eslint/no-var-requires */
const settingsModule = require("@pulumi/pulumi/runtime/settings");
const stateModule = require("@pulumi/pulumi/runtime/state");
const rpcModule = require("@pulumi/pulumi/runtime/rpc");
const logModule = require("@pulumi/pulumi/log");
const debuggableModule = require("@pulumi/pulumi/runtime/debuggable");

/** The directory of this project (the default program). */
export const PROJECT_DIR = path.resolve(__dirname, "..");

export interface OfflineOptions {
    /** Pulumi program directory (holds Pulumi.yaml); default: this project. */
    programDir?: string;
    /** Stack name: picks `Pulumi.<stack>.yaml`. */
    stack: string;
    /** Read this stack file instead of `Pulumi.<stack>.yaml`. */
    configFile?: string;
    /** Run as a preview (ids and other provider outputs unknown) instead of an update. */
    preview?: boolean;
}

/** A data-source call the program made, with its arguments. */
export interface RecordedInvoke {
    token: string;
    args: Record<string, unknown>;
}

export interface OfflineResult {
    graph: Graph;
    settings: StackSettings;
    /** Every data-source call, in order (not part of the plan's JSON contract). */
    invokes: RecordedInvoke[];
}

export { ProgramError } from "./programError";

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Turns wire-format values into plain JSON: unknowns, secrets, resources and assets become readable markers. */
export function plainValue(value: unknown): unknown {
    if (value === rpcModule.unknownValue) return COMPUTED;
    if (Array.isArray(value)) return value.map(plainValue);
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        switch (obj[SIG_KEY]) {
            case SECRET_SIG:
                return SECRET;
            case RESOURCE_SIG:
                return obj.urn;
            case ASSET_SIG:
            case ARCHIVE_SIG:
                return { asset: obj.path ?? obj.uri ?? (typeof obj.text === "string" ? `<text ${obj.text.length} bytes>` : "<archive>") };
        }
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(obj)) out[k] = plainValue(v);
        return out;
    }
    return value;
}

/** A mock monitor that also writes down every registration it answers. */
class RecordingMonitor extends MockMonitor {
    readonly recorded: GraphResource[] = [];
    readonly invokes: RecordedInvoke[] = [];

    constructor(readonly offlineMocks: OfflineMocks) {
        super(offlineMocks);
    }

    async invoke(req: any, callback: (err: any, response: any) => void): Promise<void> {
        this.invokes.push({ token: req.getTok(), args: plainValue(req.getArgs()?.toJavaScript() ?? {}) as Record<string, unknown> });
        return super.invoke(req, callback);
    }

    async registerResource(req: any, callback: (err: any, response: any) => void): Promise<void> {
        return super.registerResource(req, (err: any, response: any) => {
            if (!err) {
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
                    propertyDependencies[key] = deps.getUrnsList();
                });
                const provider: string = req.getProvider();
                const timeouts = req.getCustomtimeouts?.()?.toObject() as { create?: string; update?: string; delete?: string } | undefined;
                const customTimeouts = timeouts ? Object.fromEntries(Object.entries(timeouts).filter(([, v]) => v)) : {};
                this.recorded.push({
                    urn: response.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent() || null,
                    dependencies: req.getDependenciesList(),
                    propertyDependencies,
                    protect: req.getProtect() === true,
                    retainOnDelete: req.getRetainondelete() === true,
                    deleteBeforeReplace: req.getDeletebeforereplace() === true,
                    replaceOnChanges: req.getReplaceonchangesList(),
                    custom: req.getCustom(),
                    remote: req.getRemote(),
                    provider: provider ? provider.split("::").slice(0, -1).join("::") : null,
                    id: response.getId() || null,
                    inputs: plainValue(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
                    ...(Object.keys(customTimeouts).length > 0 ? { customTimeouts } : {}),
                });
            }
            callback(err, response);
        });
    }
}

/**
 * What a run does not import afresh, though it is the project's: the tools that run it; the
 * tests and their helpers, whose module state (a warm AWS CLI, a pool of moto servers) lives for
 * the whole test process and must not be forked into a second copy by the next import (a program
 * that is itself a test fixture, under tests/, is still forgotten); and the config modules
 * (config.ts, config/), which load no Pulumi SDK (tests/cli.test.ts) and so cannot read a run at
 * import: `npm run plan` has already loaded them to judge the stack file (tools/plan.ts).
 */
const NOT_THE_PROGRAM = [...["tools", "tests", "config"].map((dir) => path.join(PROJECT_DIR, dir) + path.sep), path.join(PROJECT_DIR, "config.ts")];

/** Forgets the program's modules so that the next run imports it afresh (config is read at import). */
export function forgetProgramModules(programDir: string): void {
    const prefix = programDir + path.sep;
    for (const key of Object.keys(require.cache)) {
        if (key.startsWith(prefix) && !key.includes(`${path.sep}node_modules${path.sep}`) && !NOT_THE_PROGRAM.some((kept) => key.startsWith(kept) && !prefix.startsWith(kept))) {
            delete require.cache[key];
        }
    }
}

let running = false;

/** Runs the program for the stack and returns its resource graph. Throws ProgramError. */
export async function runOffline(options: OfflineOptions): Promise<OfflineResult> {
    if (running) {
        throw new Error("runOffline is not reentrant: the Pulumi runtime is process-global");
    }
    running = true;
    try {
        return await runOnce(options);
    } finally {
        running = false;
    }
}

async function runOnce(options: OfflineOptions): Promise<OfflineResult> {
    const programDir = path.resolve(options.programDir ?? PROJECT_DIR);
    let settings: StackSettings;
    try {
        settings = readStackSettings(programDir, options.stack, options.configFile);
    } catch (err) {
        throw new ProgramError((err as Error).message, "config");
    }
    // What the engine itself refuses (a required key missing, a declared type wrong) does not
    // stop the run: the program's own validation then names every other bad key in the same message.
    const engineProblems = settings.problems;
    const region = settings.config["aws:region"] ?? "us-east-1";
    const monitor = new RecordingMonitor(new OfflineMocks(region, options.stack, {}, options.preview ?? false));
    settingsModule.setMockOptions(monitor, settings.project.name, options.stack, options.preview ?? false);
    const store = stateModule.getStore();
    Object.assign(store, {
        supportsSecrets: true,
        supportsResourceReferences: true,
        supportsOutputValues: false,
        supportsDeletedWith: true,
        supportsAliasSpecs: true,
        supportsTransforms: false,
    });
    pulumi.runtime.setAllConfig(settings.config, settings.secretKeys);

    forgetProgramModules(programDir);
    const entry = path.join(programDir, typeof settings.project.runtime === "object" && (settings.project as any).main ? (settings.project as any).main : "index.ts");
    // The run owns every rejection and exception the program causes, including the late ones:
    // a failed stack leaves rejected outputs behind that Node reports only after the run's own
    // promise has settled, and nobody else is listening for them then.
    const asyncErrors: unknown[] = [];
    // Touching `stack` while the run's formatter is installed records where the program threw.
    const keep = (err: unknown) => (void (err as Error | undefined)?.stack, err);
    const onAsyncError = (reason: unknown) => asyncErrors.push(keep(reason));
    const release = claimAsyncErrors();
    process.on("unhandledRejection", onAsyncError);
    process.on("uncaughtException", onAsyncError);
    // The runtime records a stack trace for every promise and resource (for leak reports and
    // source positions, neither of which the graph keeps). Formatting them through the source
    // maps (tools/register.js's or ts-node's) is most of an offline run's time, so during the run
    // a stack is its message (and the program's own frame that threw, kept aside for the error
    // message). The search for that frame stays cheap: it runs for every stack captured.
    const isProgram = programFileTest(programDir);
    const prepareStackTrace = Error.prepareStackTrace;
    Error.prepareStackTrace = (error: Error, sites: NodeJS.CallSite[]) => {
        for (const site of sites) {
            const file = site.getFileName();
            if (isProgram(file)) {
                programFrames.set(error, { file: file!, line: site.getLineNumber() ?? 0, column: site.getColumnNumber() ?? 0 });
                break;
            }
        }
        return `${error.name}: ${error.message}`;
    };
    // The runtime also captures a stack for every promise it makes (for its leak report) and the
    // whole stack for every resource (its source position for the engine): neither reaches the
    // graph, and capturing them is a tenth of a run. During the run they capture nothing.
    const debuggablePromise = debuggableModule.debuggablePromise;
    debuggableModule.debuggablePromise = (...args: unknown[]) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return debuggablePromise(...args);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
    const resourceClass = pulumi.Resource as unknown as { callsites: () => unknown[] };
    const callsites = resourceClass.callsites;
    resourceClass.callsites = () => [];
    // With no engine, pulumi.log.warn only prints to stderr; the real engine shows warnings in
    // the preview, so the offline plan records them in the graph (and prints them).
    const warnings: Array<Promise<PlanWarning>> = [];
    const warn = logModule.warn;
    logModule.warn = (message: string, resource?: pulumi.Resource) => {
        warnings.push((resource ? (resource.urn as any).promise() : Promise.resolve(null)).then((urn: string | null) => ({ message, urn: urn ?? null })));
        return Promise.resolve();
    };
    let outputs: Record<string, unknown> = {};
    let failure: { error: unknown } | undefined;
    try {
        const result = await pulumi.runtime.runInPulumiStack(async () => {
            const mod = require(entry);
            const main = typeof mod === "function" ? mod : typeof mod.default === "function" ? mod.default : undefined;
            return main ? await main() : mod;
        });
        await settingsModule.waitForRPCs();
        outputs = plainValue(await serializeOutputs(result ?? {})) as Record<string, unknown>;
    } catch (err) {
        failure = { error: keep(err) };
    }
    try {
        await settle(asyncErrors);
    } finally {
        Error.prepareStackTrace = prepareStackTrace;
        debuggableModule.debuggablePromise = debuggablePromise;
        resourceClass.callsites = callsites;
        process.off("unhandledRejection", onAsyncError);
        process.off("uncaughtException", onAsyncError);
        release();
        logModule.warn = warn;
    }
    const error = failure ? toProgramError(failure.error, programDir) : asyncErrors.length > 0 ? toProgramError(asyncErrors[0], programDir) : undefined;
    if (engineProblems.length > 0) {
        // The program's failure may only be a consequence of the missing key: only its config problems count.
        const programProblems = error?.kind === "config" ? ((failure?.error ?? asyncErrors[0]) as { problems?: ConfigProblem[] }).problems ?? [] : [];
        throw configError(options.stack, mergeProblems(engineProblems, programProblems));
    }
    if (error) throw error;
    const graph: Graph = {
        project: settings.project.name,
        stack: options.stack,
        resources: monitor.recorded,
        outputs,
        violations: [],
        warnings: await Promise.all(warnings),
    };
    return { graph, settings, invokes: monitor.invokes };
}


async function serializeOutputs(outputs: Record<string, unknown>): Promise<unknown> {
    return rpcModule.serializeProperties("stack outputs", outputs, { keepOutputValues: false });
}

/**
 * Waits until the runtime has nothing in flight and Node has reported every rejection left
 * unhandled (it reports them after the microtask queue drains, so once per macrotask turn).
 */
async function settle(asyncErrors: unknown[]): Promise<void> {
    for (let turn = 0; turn < 100; turn++) {
        const seen = asyncErrors.length;
        await settingsModule.waitForRPCs().catch((err: unknown) => asyncErrors.push(err));
        await new Promise((resolve) => setImmediate(resolve));
        if (asyncErrors.length === seen) return;
    }
}

/** Where in the program an error was thrown (recorded while the run formats stacks cheaply). */
const programFrames = new WeakMap<Error, { file: string; line: number; column: number }>();

/** Whether a file is the program's own (not a package's, not the offline tools'). */
function programFileTest(programDir: string): (file: string | null | undefined) => boolean {
    const program = programDir + path.sep;
    const packages = `${path.sep}node_modules${path.sep}`;
    const tools = path.join(PROJECT_DIR, "tools") + path.sep;
    return (file) => !!file && file.startsWith(program) && !file.includes(packages) && !file.startsWith(tools);
}

/** " (index.ts:4:15)": the program's frame that threw, mapped to the TypeScript source when the transpiler's source maps know it. */
function programLocation(err: Error, programDir: string): string {
    const frame = programFrames.get(err);
    if (!frame) return "";
    let { file, line, column } = frame;
    try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        // Call sites count columns from 1, source maps from 0.
        const mapped = require("@cspotcode/source-map-support").mapSourcePosition({ source: file, line, column: column - 1 });
        if (mapped?.source && typeof mapped.line === "number") ({ source: file, line, column } = { ...mapped, column: mapped.column + 1 });
    } catch {
        // no source maps: the transpiled position is still close
    }
    return ` (${path.relative(programDir, file.replace(/^file:\/\//, ""))}:${line}:${column})`;
}

function toProgramError(err: unknown, programDir: string): ProgramError {
    if (err instanceof ProgramError) return err;
    const e = err as Error;
    if (e && e.name === "ConfigError") {
        return new ProgramError(e.message, "config");
    }
    if (e instanceof Error) {
        // A RunError is the program's own message for its user; anything else is a bug to locate.
        const isRunError = (e as { __pulumiRunError?: boolean }).__pulumiRunError === true;
        return new ProgramError(`the program failed: ${isRunError ? e.message : `${e.name}: ${e.message}${programLocation(e, programDir)}`}`, "program");
    }
    return new ProgramError(`the program failed: ${String(err)}`, "program");
}
