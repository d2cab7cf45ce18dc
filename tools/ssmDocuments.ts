/**
 * Static checks for the SSM documents this project ships (Command documents, schema 2.2, and
 * Automation runbooks, schema 0.3), run by the tests on the document content exactly as it is
 * sent to SSM. SSM itself only finds most of these mistakes when a document *runs*: an
 * undeclared `{{ Name }}` is left in the script as literal text, a misspelt action fails the
 * execution, a parameter without a pattern lets a caller inject shell into `runCommand`.
 *
 * Everything here is pure (no I/O, no Pulumi). `checkDocument` runs every check of
 * `DOCUMENT_CHECKS`; each check is a plain function returning problems, so another document
 * family adds its own check by passing `checks: [...DOCUMENT_CHECKS, myCheck]`.
 */

import type { SsmDocumentContent, SsmParameter, SsmStep, SsmStepOutput } from "../components/ssmDocument";

export type { SsmDocumentContent, SsmParameter, SsmStep, SsmStepOutput };

export type DocumentKind = "Command" | "Automation";

/** The schema version each kind must declare (older Command schemas have no `mainSteps`). */
export const SCHEMA_VERSIONS: Record<DocumentKind, string> = { Command: "2.2", Automation: "0.3" };

/** Plugins a Command document (schema 2.2) step may use. */
export const COMMAND_ACTIONS: ReadonlySet<string> = new Set([
    "aws:runShellScript",
    "aws:runPowerShellScript",
    "aws:runDocument",
    "aws:downloadContent",
    "aws:configurePackage",
    "aws:softwareInventory",
    "aws:applications",
    "aws:configureDocker",
    "aws:domainJoin",
    "aws:psModule",
    "aws:refreshAssociation",
    "aws:updateAgent",
    "aws:updateSsmAgent",
    "aws:cloudWatch",
]);

/** Actions an Automation runbook (schema 0.3) step may use. */
export const AUTOMATION_ACTIONS: ReadonlySet<string> = new Set([
    "aws:approve",
    "aws:assertAwsResourceProperty",
    "aws:branch",
    "aws:changeInstanceState",
    "aws:copyImage",
    "aws:createImage",
    "aws:createStack",
    "aws:createTags",
    "aws:deleteImage",
    "aws:deleteStack",
    "aws:executeAutomation",
    "aws:executeAwsApi",
    "aws:executeScript",
    "aws:executeStateMachine",
    "aws:invokeLambdaFunction",
    "aws:invokeWebhook",
    "aws:loop",
    "aws:pause",
    "aws:runCommand",
    "aws:runInstances",
    "aws:sleep",
    "aws:updateVariable",
    "aws:waitForAwsResourceProperty",
]);

/**
 * Outputs an Automation action produces without an `outputs` declaration (so
 * `{{ step.ImageId }}` after an `aws:createImage` step is valid). Extend as needed.
 */
export const ACTION_BUILTIN_OUTPUTS: Readonly<Record<string, readonly string[]>> = {
    "aws:runInstances": ["InstanceIds"],
    "aws:createImage": ["ImageId", "ImageState"],
    "aws:copyImage": ["ImageId", "ImageState"],
    "aws:runCommand": ["CommandId", "Status", "ResponseCode", "Output"],
    "aws:executeAutomation": ["ExecutionId", "Status", "Output"],
    "aws:invokeLambdaFunction": ["StatusCode", "FunctionError", "LogResult", "Payload"],
    "aws:approve": ["ApprovalStatus", "ApproverDecisions", "Approver", "ApprovedDate"],
    "aws:createStack": ["StackId", "StackStatus", "StackStatusReason"],
    "aws:executeStateMachine": ["ExecutionArn"],
};

/** Automation variables every runbook may reference; `global:` is a prefix (any name). */
export const AUTOMATION_BUILTINS: ReadonlySet<string> = new Set(["automation:EXECUTION_ID", "automation:DOCUMENT_EXECUTION_ID"]);
export const AUTOMATION_BUILTIN_PREFIXES: readonly string[] = ["global:"];

/** Parameter types SSM accepts (Automation also takes AWS resource types such as `AWS::EC2::Instance::Id`). */
export const PARAMETER_TYPES: ReadonlySet<string> = new Set(["String", "StringList", "Integer", "Boolean", "MapList", "StringMap"]);

/** A `{{ Name }}` reference as SSM substitutes it. */
export const REFERENCE = /\{\{\s*([A-Za-z0-9_.:]+)\s*\}\}/g;

const PARAMETER_NAME = /^[A-Za-z0-9_.]{1,128}$/;
const STEP_NAME = /^[A-Za-z0-9_-]{1,100}$/;

/** What a check is told besides the content. */
export interface CheckOptions {
    /** The document type; default: inferred from `schemaVersion` (0.3 -> Automation, else Command). */
    kind?: DocumentKind;
    /**
     * Every parameter must carry `allowedPattern` or `allowedValues`. Default true for Command
     * documents (their parameters end up in shell), false for Automation runbooks.
     */
    requireConstraints?: boolean;
}

export interface CheckContext {
    kind: DocumentKind;
    requireConstraints: boolean;
}

/** A check: content in, problems out (empty when fine). Must not throw on malformed content. */
export type DocumentCheck = (content: SsmDocumentContent, context: CheckContext) => string[];

/** A reference found in the content: the name and where (a JSON path such as `mainSteps[0].inputs.runCommand[3]`). */
export interface FoundReference {
    name: string;
    path: string;
}

/** Every `{{ Name }}` in every string of `value` (keys included), depth first, in order. */
export function findReferences(value: unknown, path = ""): FoundReference[] {
    const out: FoundReference[] = [];
    walkStrings(value, path, (text, where) => {
        for (const m of text.matchAll(REFERENCE)) out.push({ name: m[1], path: where });
    });
    return out;
}

/** `{{` that is not the start of a valid reference: SSM leaves it or rejects the document, neither is intended. */
export function findMalformedBraces(value: unknown, path = ""): FoundReference[] {
    const out: FoundReference[] = [];
    walkStrings(value, path, (text, where) => {
        const stripped = text.replace(REFERENCE, "");
        const i = stripped.indexOf("{{");
        if (i >= 0) out.push({ name: stripped.slice(i, i + 40).split("\n")[0], path: where });
    });
    return out;
}

function walkStrings(value: unknown, path: string, visit: (text: string, path: string) => void): void {
    if (typeof value === "string") {
        visit(value, path);
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => walkStrings(v, `${path}[${i}]`, visit));
    } else if (value !== null && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) {
            const where = path ? `${path}.${k}` : k;
            visit(k, where);
            walkStrings(v, where, visit);
        }
    }
}

function steps(content: SsmDocumentContent): SsmStep[] {
    return Array.isArray(content.mainSteps) ? content.mainSteps : [];
}

function stepLabel(step: SsmStep, i: number): string {
    return `mainSteps[${i}]${typeof step?.name === "string" ? ` (${step.name})` : ""}`;
}

/** schemaVersion matches the kind; mainSteps is a non-empty list. */
export const checkShape: DocumentCheck = (content, { kind }) => {
    const problems: string[] = [];
    if (content.schemaVersion !== SCHEMA_VERSIONS[kind]) {
        problems.push(`schemaVersion is ${JSON.stringify(content.schemaVersion)}; a ${kind} document must use "${SCHEMA_VERSIONS[kind]}"`);
    }
    if (!Array.isArray(content.mainSteps) || content.mainSteps.length === 0) {
        problems.push("mainSteps must be a non-empty list of steps");
    }
    if (content.parameters !== undefined && (content.parameters === null || typeof content.parameters !== "object" || Array.isArray(content.parameters))) {
        problems.push("parameters must be an object keyed by parameter name");
    }
    return problems;
};

/**
 * Parameter names and types are valid; with `requireConstraints`, each has an anchored
 * `allowedPattern` (valid as a JS RegExp) or non-empty `allowedValues`; a default satisfies them.
 */
export const checkParameters: DocumentCheck = (content, { requireConstraints }) => {
    const problems: string[] = [];
    const params = content.parameters && typeof content.parameters === "object" ? content.parameters : {};
    for (const [name, p] of Object.entries(params)) {
        const where = `parameter ${name}`;
        if (!PARAMETER_NAME.test(name)) problems.push(`${where}: name must be 1-128 letters, digits, '_' or '.'`);
        if (p === null || typeof p !== "object") {
            problems.push(`${where}: must be an object with a type`);
            continue;
        }
        if (typeof p.type !== "string" || !(PARAMETER_TYPES.has(p.type) || /^(List<)?AWS::[A-Za-z0-9:]+>?$/.test(p.type))) {
            problems.push(`${where}: unknown type ${JSON.stringify(p.type)}; one of ${[...PARAMETER_TYPES].join(", ")} or an AWS:: resource type`);
        }
        let pattern: RegExp | undefined;
        if (p.allowedPattern !== undefined) {
            if (typeof p.allowedPattern !== "string") {
                problems.push(`${where}: allowedPattern must be a string`);
            } else {
                if (!p.allowedPattern.startsWith("^") || !p.allowedPattern.endsWith("$")) {
                    problems.push(`${where}: allowedPattern ${JSON.stringify(p.allowedPattern)} must be anchored with ^...$ (unanchored, it accepts any value containing a match)`);
                }
                try {
                    pattern = new RegExp(p.allowedPattern);
                } catch (err) {
                    problems.push(`${where}: allowedPattern is not a valid regular expression: ${(err as Error).message}`);
                }
            }
        }
        const hasValues = Array.isArray(p.allowedValues) && p.allowedValues.length > 0;
        if (p.allowedValues !== undefined && !hasValues) problems.push(`${where}: allowedValues must be a non-empty list`);
        if (requireConstraints && p.allowedPattern === undefined && !hasValues) {
            problems.push(`${where}: has neither allowedPattern nor allowedValues (required: SSM substitutes the value as is, e.g. into shell)`);
        }
        if (p.default !== undefined) {
            const defaults = Array.isArray(p.default) ? p.default : [p.default];
            for (const d of defaults) {
                const text = typeof d === "string" ? d : JSON.stringify(d);
                if (pattern && !pattern.test(text)) problems.push(`${where}: default ${JSON.stringify(d)} does not match allowedPattern ${p.allowedPattern}`);
                if (hasValues && !(p.allowedValues as unknown[]).includes(d)) problems.push(`${where}: default ${JSON.stringify(d)} is not one of allowedValues`);
            }
        }
    }
    return problems;
};

/** Step names are valid and unique; every action is one this kind of document may use. */
export const checkSteps: DocumentCheck = (content, { kind }) => {
    const problems: string[] = [];
    const actions = kind === "Command" ? COMMAND_ACTIONS : AUTOMATION_ACTIONS;
    const seen = new Set<string>();
    steps(content).forEach((step, i) => {
        const where = stepLabel(step, i);
        if (step === null || typeof step !== "object") {
            problems.push(`${where}: must be an object`);
            return;
        }
        if (typeof step.name !== "string" || !STEP_NAME.test(step.name)) {
            problems.push(`${where}: name must be 1-100 letters, digits, '_' or '-'`);
        } else if (seen.has(step.name)) {
            problems.push(`${where}: step name "${step.name}" is used twice`);
        } else {
            seen.add(step.name);
        }
        if (typeof step.action !== "string" || !actions.has(step.action)) {
            problems.push(`${where}: unknown action ${JSON.stringify(step.action)} for ${kind === "Automation" ? "an" : "a"} ${kind} document`);
        }
        if (step.outputs !== undefined && (!Array.isArray(step.outputs) || step.outputs.some((o) => typeof o?.Name !== "string"))) {
            problems.push(`${where}: outputs must be a list of { Name, Selector, Type }`);
        }
    });
    return problems;
};

/**
 * Every `{{ X }}` resolves: to a declared parameter; in Automation runbooks also to an
 * earlier step's output (`{{ step.Output }}`, declared or built into the action) or a
 * built-in (`automation:EXECUTION_ID`, `global:*`). Stray `{{` are reported too.
 */
export const checkReferences: DocumentCheck = (content, { kind }) => {
    const problems: string[] = [];
    const declared = new Set(Object.keys(content.parameters && typeof content.parameters === "object" ? content.parameters : {}));
    const resolves = (name: string, available: Map<string, Set<string>>): boolean => {
        if (declared.has(name)) return true;
        if (kind !== "Automation") return false;
        if (AUTOMATION_BUILTINS.has(name) || AUTOMATION_BUILTIN_PREFIXES.some((p) => name.startsWith(p))) return true;
        const dot = name.indexOf(".");
        if (dot < 0) return false;
        return available.get(name.slice(0, dot))?.has(name.slice(dot + 1)) ?? false;
    };
    const report = (refs: FoundReference[], available: Map<string, Set<string>>) => {
        for (const ref of refs) {
            if (!resolves(ref.name, available)) {
                const hint = kind === "Automation" ? "a declared parameter, an earlier step's output or a built-in" : "a declared parameter";
                problems.push(`${ref.path}: {{ ${ref.name} }} is not ${hint}`);
            }
        }
    };
    const { mainSteps, outputs, ...rest } = content;
    report(findReferences(rest), new Map());
    // Outputs of the steps before the one being checked (a step cannot read its own or a later step's).
    const available = new Map<string, Set<string>>();
    steps(content).forEach((step, i) => {
        report(findReferences(step, `mainSteps[${i}]`), available);
        if (step && typeof step.name === "string") {
            const names = new Set<string>(ACTION_BUILTIN_OUTPUTS[step.action] ?? []);
            for (const o of Array.isArray(step.outputs) ? step.outputs : []) if (typeof o?.Name === "string") names.add(o.Name);
            available.set(step.name, names);
        }
    });
    if (outputs !== undefined) {
        if (kind !== "Automation") {
            problems.push("outputs: only Automation runbooks declare document outputs");
        } else if (!Array.isArray(outputs)) {
            problems.push("outputs must be a list of \"step.Output\" names");
        } else {
            outputs.forEach((o, i) => {
                if (typeof o !== "string" || !resolves(o, available)) problems.push(`outputs[${i}]: ${JSON.stringify(o)} is not a step output`);
            });
        }
    }
    for (const m of findMalformedBraces(content)) {
        problems.push(`${m.path}: "${m.name}" opens a {{ }} reference SSM cannot parse (only letters, digits, '_', '.', ':' inside)`);
    }
    return problems;
};

/** Platform values the agent compares (lower-cased) with the instance's platform type. */
export const PLATFORM_TYPES: readonly string[] = ["Linux", "Windows", "MacOS"];

/**
 * Step preconditions the SSM agent understands: only `StringEquals` with two operands, one of
 * them `platformType` (amazon-ssm-agent `evaluatePreconditions`). Anything else, e.g.
 * `["platform", "Linux"]`, FAILS the step on every instance ("Unrecognized precondition(s)").
 */
export const checkPreconditions: DocumentCheck = (content, { kind }) => {
    const problems: string[] = [];
    steps(content).forEach((step, i) => {
        if (!step || step.precondition === undefined) return;
        const where = `${stepLabel(step, i)}: precondition`;
        if (kind !== "Command") {
            problems.push(`${where}: only Command documents (schema 2.2) take preconditions`);
            return;
        }
        const pre = step.precondition as Record<string, unknown>;
        if (pre === null || typeof pre !== "object" || Array.isArray(pre)) {
            problems.push(`${where} must be an object such as { "StringEquals": ["platformType", "Linux"] }`);
            return;
        }
        for (const [operator, operands] of Object.entries(pre)) {
            if (operator !== "StringEquals") {
                problems.push(`${where}: operator ${JSON.stringify(operator)} is not supported (only StringEquals)`);
                continue;
            }
            const ops = Array.isArray(operands) ? operands : [];
            const variable = ops.filter((o) => o === "platformType").length;
            const value = ops.find((o) => o !== "platformType");
            if (ops.length !== 2 || variable !== 1 || !PLATFORM_TYPES.includes(value as string)) {
                problems.push(`${where}: StringEquals ${JSON.stringify(operands)} is not understood by the SSM agent (the step fails); use ["platformType", one of ${PLATFORM_TYPES.join(", ")}]`);
            }
        }
    });
    return problems;
};

/** Inputs a step of a known action must carry, per action; add entries for more actions. */
export const ACTION_INPUT_CHECKS: Record<string, (inputs: Record<string, unknown>) => string[]> = {
    "aws:runShellScript": (inputs) => {
        const problems: string[] = [];
        const cmd = inputs.runCommand;
        if (!Array.isArray(cmd) || cmd.length === 0 || cmd.some((l) => typeof l !== "string")) {
            problems.push("inputs.runCommand must be a non-empty list of strings");
        }
        const t = inputs.timeoutSeconds;
        if (t !== undefined && !(typeof t === "number" && Number.isInteger(t) && t >= 1 && t <= 172800) && !(typeof t === "string" && /^\{\{.*\}\}$|^\d+$/.test(t))) {
            problems.push("inputs.timeoutSeconds must be an integer 1..172800 (or a {{ parameter }})");
        }
        return problems;
    },
};

/** Known actions' required inputs (ACTION_INPUT_CHECKS); an action wrong for the kind is checkSteps' to report. */
export const checkActionInputs: DocumentCheck = (content, { kind }) => {
    const problems: string[] = [];
    const actions = kind === "Command" ? COMMAND_ACTIONS : AUTOMATION_ACTIONS;
    steps(content).forEach((step, i) => {
        const check = step && actions.has(step.action) ? ACTION_INPUT_CHECKS[step.action] : undefined;
        if (!check) return;
        const inputs = step.inputs !== null && typeof step.inputs === "object" ? step.inputs : {};
        for (const p of check(inputs)) problems.push(`${stepLabel(step, i)}: ${p}`);
    });
    return problems;
};

/** The checks `checkDocument` runs by default, in order. */
export const DOCUMENT_CHECKS: readonly DocumentCheck[] = [checkShape, checkParameters, checkSteps, checkReferences, checkPreconditions, checkActionInputs];

/** SSM's quota on a document's content. */
export const MAX_CONTENT_BYTES = 64 * 1024;

/**
 * Checks a document's content (an object, or its JSON text — then the 64 KB quota is checked
 * too) and returns every problem found, each naming where; an empty list means it passed.
 */
export function checkDocument(content: SsmDocumentContent | string, options: CheckOptions & { checks?: readonly DocumentCheck[] } = {}): string[] {
    const problems: string[] = [];
    let doc: SsmDocumentContent;
    if (typeof content === "string") {
        const bytes = Buffer.byteLength(content, "utf8");
        if (bytes > MAX_CONTENT_BYTES) problems.push(`content is ${bytes} bytes; SSM accepts at most ${MAX_CONTENT_BYTES}`);
        try {
            doc = JSON.parse(content) as SsmDocumentContent;
        } catch (err) {
            return [...problems, `content is not valid JSON: ${(err as Error).message}`];
        }
    } else {
        doc = content;
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return [...problems, "content must be an object"];
    const kind = options.kind ?? (doc.schemaVersion === SCHEMA_VERSIONS.Automation ? "Automation" : "Command");
    const context: CheckContext = { kind, requireConstraints: options.requireConstraints ?? kind === "Command" };
    for (const check of options.checks ?? DOCUMENT_CHECKS) problems.push(...check(doc, context));
    return problems;
}

// --- Cleanup paths (AMI factory) -----------------------------------------------------------

/**
 * The steps control may pass to after `step` completes normally: none for `isEnd`, the
 * choices and `Default` of an `aws:branch`, else `nextStep`, else the next step in the list.
 */
export function successors(content: SsmDocumentContent, step: SsmStep): string[] {
    const list = steps(content);
    if (step.isEnd === true) return [];
    if (step.action === "aws:branch") {
        const inputs = (step.inputs ?? {}) as { Choices?: Array<{ NextStep?: unknown }>; Default?: unknown };
        const out = (Array.isArray(inputs.Choices) ? inputs.Choices : []).map((c) => c?.NextStep).filter((n): n is string => typeof n === "string");
        if (typeof inputs.Default === "string") out.push(inputs.Default);
        return out;
    }
    if (typeof step.nextStep === "string") return [step.nextStep];
    const i = list.indexOf(step);
    return i >= 0 && i + 1 < list.length && typeof list[i + 1]?.name === "string" ? [list[i + 1].name] : [];
}

/**
 * Where a failure (`onFailure`) or cancel (`onCancel`) handler sends control: `step:X` -> [X];
 * `Continue` (onFailure only) -> the step's normal successors; `Abort` or absent -> [] (the run ends).
 */
export function handlerTargets(content: SsmDocumentContent, step: SsmStep, handler: "onFailure" | "onCancel"): string[] {
    const value = step[handler];
    if (typeof value === "string" && value.startsWith("step:")) return [value.slice("step:".length)];
    if (handler === "onFailure" && value === "Continue") return successors(content, step);
    return [];
}

/**
 * True when every success path from `start` reaches `target` (a path that ends, loops or names
 * an unknown step before reaching it does not). `target` itself counts as reached.
 */
export function allPathsReach(content: SsmDocumentContent, start: string, target: string): boolean {
    const byName = new Map(steps(content).filter((s) => s && typeof s.name === "string").map((s) => [s.name, s]));
    const memo = new Map<string, boolean>();
    const visit = (name: string, onPath: Set<string>): boolean => {
        if (name === target) return true;
        if (memo.has(name)) return memo.get(name)!;
        const step = byName.get(name);
        if (!step || onPath.has(name)) return false;
        onPath.add(name);
        const next = successors(content, step);
        const ok = next.length > 0 && next.every((n) => visit(n, onPath));
        onPath.delete(name);
        memo.set(name, ok);
        return ok;
    };
    return visit(start, new Set());
}

/**
 * A check for runbooks that create something that must always be cleaned up (the AMI bake's
 * builder instance). From the first step of action `fromAction` (default `aws:runInstances`)
 * on, every step other than `cleanupStep` must have `onFailure` and `onCancel` set to a
 * `step:` whose every path reaches `cleanupStep`; the normal path from that first step must
 * reach it too; and `cleanupStep` itself must retry (`maxAttempts` of at least 2: one failed
 * call must not leave the resource) and stay critical (`isCritical` not false: a cleanup that
 * finally fails must fail the run, not let it end Success with the resource left behind).
 */
export function cleanupPathCheck(cleanupStep: string | string[], fromAction = "aws:runInstances"): DocumentCheck {
    // Several names: the first is the cleanup every path must reach; the others are further
    // copies of it (e.g. the one a cancel during the cleanup goes to), checked as cleanups.
    const cleanups = Array.isArray(cleanupStep) ? cleanupStep : [cleanupStep];
    const main = cleanups[0];
    return (content) => {
        const problems: string[] = [];
        const list = steps(content);
        const cleanupSteps = cleanups.map((name) => list.find((s) => s?.name === name));
        if (!cleanupSteps[0]) return [`cleanup step "${main}" does not exist`];
        const first = list.findIndex((s) => s?.action === fromAction);
        if (first < 0) return [`no ${fromAction} step: nothing to clean up after`];
        cleanupSteps.forEach((cleanup, k) => {
            if (!cleanup) {
                problems.push(`cleanup step "${cleanups[k]}" does not exist`);
                return;
            }
            const where = stepLabel(cleanup, list.indexOf(cleanup));
            if (cleanup.isCritical === false || (cleanup.onFailure === "Continue" && cleanup.isCritical !== true)) {
                problems.push(`${where}: must stay critical (isCritical not false, and true with onFailure Continue): a failed cleanup would end the run Success with the resource left behind`);
            }
            if (!(typeof cleanup.maxAttempts === "number" && cleanup.maxAttempts >= 2)) {
                problems.push(`${where}: maxAttempts must be at least 2 (one failed call must not leave the resource behind), not ${JSON.stringify(cleanup.maxAttempts ?? 1)}`);
            }
        });
        const reaches = (start: string) => cleanups.some((c) => allPathsReach(content, start, c));
        list.forEach((step, i) => {
            if (i < first || cleanups.includes(step?.name) || !step || typeof step.name !== "string") return;
            for (const handler of ["onFailure", "onCancel"] as const) {
                const targets = handlerTargets(content, step, handler);
                if (targets.length === 0) {
                    problems.push(`${stepLabel(step, i)}: ${handler} is ${JSON.stringify(step[handler] ?? "Abort (default)")}: the run would end without reaching ${main}`);
                } else if (!targets.every(reaches)) {
                    problems.push(`${stepLabel(step, i)}: ${handler} ${JSON.stringify(step[handler])} leads to a path that never reaches ${main}`);
                }
            }
        });
        const start = list[first];
        if (!successors(content, start).every(reaches) || successors(content, start).length === 0) {
            problems.push(`${stepLabel(start, first)}: a normal path from here never reaches ${main}`);
        }
        return problems;
    };
}

// --- Step-graph simulation (Automation runbooks) -------------------------------------------

/** What one attempt of a step does in a simulated run. */
export type StepOutcome = "success" | "failure" | "cancel";

export interface SimulationScenario<State> {
    /** The outcome of attempt `attempt` (1-based) of `step`. A cancel arrives at most once per run. */
    outcome(step: SsmStep, attempt: number, state: State): StepOutcome;
    /** Called after every attempt with its outcome: the scenario's model of the step's effect. */
    effect?(step: SsmStep, outcome: StepOutcome, state: State): void;
    /** The step an `aws:branch` goes to (default: its Default). */
    branch?(step: SsmStep, state: State): string;
}

export interface SimulationResult {
    /** The execution's final status as SSM reports it. */
    status: "Success" | "Failed" | "Cancelled";
    /** Every attempt, in order: `Step:outcome`. */
    trace: string[];
}

/**
 * Walks an Automation runbook's step graph for one scenario, following SSM's rules ("Properties
 * shared by all actions", AWS Systems Manager User Guide,
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-actions.html#automation-common):
 * - a step runs up to `maxAttempts` times (default 1) and has failed only when every attempt failed;
 * - on success: `isEnd` ends the run, an `aws:branch` goes to its choice, else `nextStep`, else
 *   the next step in the list (none: the run ends);
 * - on failure: `onFailure` `Abort` (default) ends the run, `Continue` goes on as on success,
 *   `step:X` goes to X; the run ends Failed if the failed step was critical (`isCritical`,
 *   default true, but false when onFailure is Continue and isCritical is not given);
 * - on cancel (StopAutomationExecution while the step runs): `onCancel` `step:X` runs X, anything
 *   else ends the run; the run ends Cancelled either way. A second cancel is not modelled: the
 *   run is already Cancelling, so the handler steps run to completion.
 */
export function simulateAutomation<State>(content: SsmDocumentContent, scenario: SimulationScenario<State>, state: State, maxSteps = 500): SimulationResult {
    const list = steps(content);
    const byName = new Map(list.map((s) => [s.name, s]));
    const trace: string[] = [];
    let cancelled = false;
    let failedCritical = false;
    let current: SsmStep | undefined = list[0];
    for (let n = 0; current && n < maxSteps; n++) {
        const step: SsmStep = current;
        const attempts = typeof step.maxAttempts === "number" && step.maxAttempts >= 1 ? step.maxAttempts : 1;
        let outcome: StepOutcome = "failure";
        for (let attempt = 1; attempt <= attempts; attempt++) {
            outcome = scenario.outcome(step, attempt, state);
            if (outcome === "cancel" && cancelled) outcome = "success";
            trace.push(`${step.name}:${outcome}`);
            scenario.effect?.(step, outcome, state);
            if (outcome !== "failure") break;
        }
        let next: string | undefined;
        if (outcome === "cancel") {
            cancelled = true;
            next = typeof step.onCancel === "string" && step.onCancel.startsWith("step:") ? step.onCancel.slice(5) : undefined;
        } else if (outcome === "failure") {
            const critical = step.isCritical === undefined ? step.onFailure !== "Continue" : step.isCritical === true;
            if (critical) failedCritical = true;
            const handler = typeof step.onFailure === "string" ? step.onFailure : "Abort";
            next = handler.startsWith("step:") ? handler.slice(5) : handler === "Continue" ? normalNext(list, step, scenario, state) : undefined;
        } else {
            next = normalNext(list, step, scenario, state);
        }
        if (next !== undefined && !byName.has(next)) throw new Error(`${step.name} goes to unknown step ${next}`);
        current = next === undefined ? undefined : byName.get(next);
    }
    if (current) throw new Error(`the run did not end within ${maxSteps} steps (a loop?)`);
    return { status: cancelled ? "Cancelled" : failedCritical ? "Failed" : "Success", trace };
}

function normalNext<State>(list: SsmStep[], step: SsmStep, scenario: SimulationScenario<State>, state: State): string | undefined {
    if (step.isEnd === true) return undefined;
    if (step.action === "aws:branch") {
        const inputs = (step.inputs ?? {}) as { Default?: string };
        return scenario.branch ? scenario.branch(step, state) : inputs.Default;
    }
    if (typeof step.nextStep === "string") return step.nextStep;
    const i = list.indexOf(step);
    return i >= 0 && i + 1 < list.length ? list[i + 1].name : undefined;
}
