/**
 * The offline engine: runs a Pulumi program for one stack under Pulumi's own mock runtime
 * and records every resource registration exactly as the real engine would receive it
 * (type, name, parent, dependencies, property dependencies, protect, inputs). There is no
 * AWS account, CLI or provider plugin here; `tools/mocks.ts` answers for AWS.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { COMPUTED, Graph, GraphResource, SECRET } from "./graph";
import { OfflineMocks } from "./mocks";
import { readStackSettings, StackSettings } from "./stackFiles";

/* eslint-disable @typescript-eslint/no-var-requires */
const settingsModule = require("@pulumi/pulumi/runtime/settings");
const stateModule = require("@pulumi/pulumi/runtime/state");
const rpcModule = require("@pulumi/pulumi/runtime/rpc");

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

/** Bad config or a program that failed: the plan exits 2 with this message. */
export class ProgramError extends Error {
    constructor(
        message: string,
        readonly kind: "config" | "program",
    ) {
        super(message);
        this.name = "ProgramError";
    }
}

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
                    custom: req.getCustom(),
                    remote: req.getRemote(),
                    provider: provider ? provider.split("::").slice(0, -1).join("::") : null,
                    id: response.getId() || null,
                    inputs: plainValue(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
                });
            }
            callback(err, response);
        });
    }
}

/** Forgets the program's modules so that the next run imports it afresh (config is read at import). */
function forgetProgramModules(programDir: string): void {
    const prefix = programDir + path.sep;
    for (const key of Object.keys(require.cache)) {
        if (key.startsWith(prefix) && !key.includes(`${path.sep}node_modules${path.sep}`) && !key.startsWith(path.join(PROJECT_DIR, "tools") + path.sep)) {
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
    if (settings.problems.length > 0) {
        const lines = settings.problems.map((p) => `  - ${p.key}${p.value === undefined ? "" : ` = ${JSON.stringify(p.value)}`}: ${p.message}`);
        throw new ProgramError(`Invalid configuration for stack "${options.stack}" (${settings.problems.length} problem${settings.problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`, "config");
    }

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
    const asyncErrors: unknown[] = [];
    const onRejection = (reason: unknown) => asyncErrors.push(reason);
    process.on("unhandledRejection", onRejection);
    // The runtime records a stack trace for every promise and resource (for leak reports and
    // source positions, neither of which the graph keeps). Formatting them through ts-node's
    // source maps is most of an offline run's time, so during the run a stack is its message.
    const prepareStackTrace = Error.prepareStackTrace;
    Error.prepareStackTrace = (error: Error) => `${error.name}: ${error.message}`;
    let outputs: Record<string, unknown> = {};
    try {
        const result = await pulumi.runtime.runInPulumiStack(async () => {
            const mod = require(entry);
            const main = typeof mod === "function" ? mod : typeof mod.default === "function" ? mod.default : undefined;
            return main ? await main() : mod;
        });
        await settingsModule.waitForRPCs();
        outputs = plainValue(await serializeOutputs(result ?? {})) as Record<string, unknown>;
    } catch (err) {
        throw toProgramError(err);
    } finally {
        Error.prepareStackTrace = prepareStackTrace;
        process.off("unhandledRejection", onRejection);
    }
    if (asyncErrors.length > 0) {
        throw toProgramError(asyncErrors[0]);
    }
    const graph: Graph = {
        project: settings.project.name,
        stack: options.stack,
        resources: monitor.recorded,
        outputs,
        violations: [],
    };
    return { graph, settings, invokes: monitor.invokes };
}

async function serializeOutputs(outputs: Record<string, unknown>): Promise<unknown> {
    return rpcModule.serializeProperties("stack outputs", outputs, { keepOutputValues: false });
}

function toProgramError(err: unknown): ProgramError {
    if (err instanceof ProgramError) return err;
    const e = err as Error;
    if (e && e.name === "ConfigError") {
        return new ProgramError(e.message, "config");
    }
    const message = e && e.message ? e.message : String(err);
    return new ProgramError(`the program failed: ${message}`, "program");
}
