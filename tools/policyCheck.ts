/**
 * Offline policy runner: judges a recorded resource graph (tools/graph.ts) with the rules of the
 * `platform` policy pack (policies/rules), the way the Pulumi engine would with
 * `pulumi preview --policy-pack policies --policy-pack-config <file>`.
 *
 * It mirrors @pulumi/policy 1.21's analyzer (node_modules/@pulumi/policy/server.js):
 *  - every ResourceValidationPolicy's `validateResource` (a function or an array of functions, a
 *    `__pulumiType`-tagged one only for its type) runs on every resource with `ResourceValidationArgs`
 *    (type, props = inputs, urn, name, opts, provider, stackTags, isType/asType, getConfig, notApplicable);
 *  - every StackValidationPolicy's `validateStack` runs once with all resources as `PolicyResource`s
 *    whose parent/dependencies/propertyDependencies are resolved to the resource objects;
 *  - enforcement level = policy config for the rule > config "all" > the rule's own > the pack's;
 *    `disabled` rules are skipped; `remediate` is reported as `mandatory` (as the engine does);
 *  - an `UnknownValueError` becomes an advisory "can't run ... during preview" violation; any other
 *    exception fails the run (the engine fails the preview).
 * Differences from the engine: unknown values are the string "<computed>" (not a throwing proxy),
 * and violation messages are the rule's message alone (the engine prefixes the rule description).
 */

import * as fs from "fs";
import type {
    EnforcementLevel, PolicyProviderResource, PolicyResource, PolicyResourceOptions, ReportViolation,
    ResourceValidation, ResourceValidationArgs, StackValidation, StackValidationArgs,
} from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PlatformPolicy, allPolicies } from "../policies/rules";
import { suggest } from "../config/suggest";
import type { GraphResource, Violation } from "./graph";

/** The slice of a Graph the runner needs. */
export interface GraphLike {
    resources: GraphResource[];
    project?: string;
    stack?: string;
}

/** One rule's entry in a policy config file: a level, or a level plus the rule's own settings. */
export type PolicyConfigEntry = string | ({ enforcementLevel?: string } & Record<string, unknown>);
/** Same shape as the JSON file given to `pulumi preview --policy-pack-config` ("all" applies to every rule). */
export type PolicyConfig = Record<string, PolicyConfigEntry>;

export interface RunPoliciesOptions {
    /** Policy config, e.g. `{ "all": "advisory", "ec2-imdsv2-required": "mandatory", "rds-deletion-protection-in-production": { "environment": "prod" } }`. */
    config?: PolicyConfig;
    /** Rules to run (default: every rule of the platform pack). */
    policies?: PlatformPolicy[];
    /** Pack-wide default level for rules that set none (default: the pack's). */
    packEnforcementLevel?: EnforcementLevel;
    /** Stack tags given to the rules (`args.stackTags`); default `pulumi:project` / `pulumi:stack`. */
    stackTags?: Record<string, string>;
}

export const ENFORCEMENT_LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

class NotApplicableError extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "Policy does not apply");
        this.name = "NotApplicableError";
    }
}

function throwNotApplicable(reason?: string): never {
    throw new NotApplicableError(reason);
}

function isUnknownValueError(e: unknown): e is Error {
    return e instanceof Error && (e.constructor?.name === "UnknownValueError" || e.name === "UnknownValueError");
}

function asLevel(v: unknown, where: string): EnforcementLevel {
    if (typeof v === "string" && (ENFORCEMENT_LEVELS as string[]).includes(v)) {
        return v as EnforcementLevel;
    }
    throw new Error(`policy config ${where}: invalid enforcement level ${JSON.stringify(v)} ` +
        `(expected one of ${ENFORCEMENT_LEVELS.join(", ")})`);
}

interface ResolvedConfig {
    enforcementLevel?: EnforcementLevel;
    properties: Record<string, unknown>;
}

/** Resolves one rule's config the way the CLI does: the rule's entry over "all", plus schema defaults. */
export function resolvePolicyConfig(policy: PlatformPolicy, config: PolicyConfig = {}): ResolvedConfig {
    const out: ResolvedConfig = { properties: {} };
    for (const [k, s] of Object.entries(policy.configSchema?.properties ?? {})) {
        if (s && typeof s === "object" && "default" in s && s.default !== undefined) {
            out.properties[k] = JSON.parse(JSON.stringify(s.default));
        }
    }
    const all = config["all"];
    if (all !== undefined) {
        out.enforcementLevel = asLevel(typeof all === "string" ? all : all?.enforcementLevel, `"all"`);
    }
    const entry = config[policy.name];
    if (typeof entry === "string") {
        out.enforcementLevel = asLevel(entry, `"${policy.name}"`);
    } else if (entry && typeof entry === "object") {
        const { enforcementLevel, ...props } = entry;
        if (enforcementLevel !== undefined) {
            out.enforcementLevel = asLevel(enforcementLevel, `"${policy.name}".enforcementLevel`);
        }
        Object.assign(out.properties, props);
    } else if (entry !== undefined) {
        throw new Error(`policy config "${policy.name}": expected an enforcement level or an object`);
    }
    return out;
}

/** The level a rule runs at under `config`. */
export function effectiveEnforcementLevel(policy: PlatformPolicy, config: PolicyConfig = {},
    packLevel: EnforcementLevel = PACK_ENFORCEMENT_LEVEL): EnforcementLevel {
    return resolvePolicyConfig(policy, config).enforcementLevel ?? policy.enforcementLevel ?? packLevel;
}

/** A policy config file the runner refuses: `message` names every problem in it. */
export class PolicyConfigError extends Error {
    constructor(
        readonly file: string,
        readonly problems: string[],
    ) {
        super(`Invalid policy config ${file} (${problems.length === 1 ? "1 problem" : `${problems.length} problems`}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "PolicyConfigError";
    }
}

type SchemaProperty = { type?: string; items?: { type?: string }; minimum?: number; maximum?: number; enum?: unknown[] };

function jsonType(v: unknown): string {
    if (Array.isArray(v)) return "array";
    if (v === null) return "null";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    return typeof v;
}

/** What is wrong with one setting against its JSON-schema property (the subset the pack's rules use). */
function settingProblem(value: unknown, schema: SchemaProperty): string | undefined {
    const actual = jsonType(value);
    if (schema.type && !(actual === schema.type || (schema.type === "number" && actual === "integer"))) return `must be of type ${schema.type}, not ${actual}`;
    if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) return `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`;
    if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum}`;
    if (typeof value === "number" && schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum}`;
    if (Array.isArray(value) && schema.items?.type) {
        const bad = value.findIndex((item) => jsonType(item) !== schema.items!.type);
        if (bad >= 0) return `[${bad}] must be of type ${schema.items.type}`;
    }
    return undefined;
}

/**
 * Loads a policy config JSON file (the `--policy-pack-config` format) and checks it as a whole:
 * every rule name, level and setting must exist (a typo is an error with a did-you-mean, never
 * a rule silently left at its default). Throws a PolicyConfigError naming every problem.
 */
export function loadPolicyConfig(path: string, policies: PlatformPolicy[] = allPolicies): PolicyConfig {
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(path, "utf8"));
    } catch (err) {
        throw new PolicyConfigError(path, [(err as NodeJS.ErrnoException).code ? `cannot read it: ${(err as Error).message}` : `is not JSON: ${(err as Error).message}`]);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new PolicyConfigError(path, ["a policy config must be a JSON object of rule name -> level or settings"]);
    }
    const config = parsed as PolicyConfig;
    const names = policies.map((p) => p.name);
    const problems: string[] = [];
    const checkLevel = (v: unknown, where: string) => {
        if (typeof v === "string" && (ENFORCEMENT_LEVELS as string[]).includes(v)) return;
        const hint = typeof v === "string" ? suggest(v, ENFORCEMENT_LEVELS) : "";
        problems.push(`${where}: unknown enforcement level ${JSON.stringify(v)}${hint}; allowed: ${ENFORCEMENT_LEVELS.join(", ")}`);
    };
    for (const [name, entry] of Object.entries(config)) {
        const policy = policies.find((p) => p.name === name);
        if (name !== "all" && !policy) {
            problems.push(`"${name}": unknown policy${suggest(name, [...names, "all"])}; the pack's policies: ${names.join(", ")} (or "all")`);
            continue;
        }
        if (typeof entry === "string") {
            checkLevel(entry, `"${name}"`);
        } else if (entry && typeof entry === "object" && !Array.isArray(entry)) {
            const properties = (policy?.configSchema?.properties ?? {}) as Record<string, SchemaProperty>;
            const known = ["enforcementLevel", ...Object.keys(properties)];
            for (const [key, value] of Object.entries(entry)) {
                if (key === "enforcementLevel") {
                    checkLevel(value, `"${name}".enforcementLevel`);
                } else if (!(key in properties)) {
                    problems.push(`"${name}".${key}: unknown setting${suggest(key, known)}; ${name === "all" ? '"all" takes only enforcementLevel' : `known: ${known.join(", ")}`}`);
                } else {
                    const problem = settingProblem(value, properties[key]);
                    if (problem) problems.push(`"${name}".${key} = ${JSON.stringify(value)}: ${problem}`);
                }
            }
        } else {
            problems.push(`"${name}": must be an enforcement level or an object of settings, not ${JSON.stringify(entry)}`);
        }
    }
    if (problems.length > 0) throw new PolicyConfigError(path, problems);
    return config;
}

function pulumiTypeOf(obj: unknown): string | undefined {
    const t = (obj as { __pulumiType?: unknown } | undefined)?.__pulumiType;
    return typeof t === "string" && t.length > 0 ? t : undefined;
}

/** Same check as @pulumi/policy's `isTypeOf`: the class's `__pulumiType`, else its `isInstance`. */
function isTypeOf(type: string, resourceClass: unknown): boolean {
    const t = pulumiTypeOf(resourceClass);
    if (t) {
        return t === type;
    }
    const isInstance = (resourceClass as { isInstance?: unknown } | undefined)?.isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function clone<T>(v: T): T {
    return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

/**
 * Each validation gets its own copy of a resource's inputs, as from the engine, so that a rule
 * that changes what it is given cannot change what the next rule sees. The inputs are serialized
 * once per resource and parsed per copy: the plan makes thousands of copies.
 */
function copier(): (value: object) => any {
    const serialized = new WeakMap<object, string>();
    return (value) => {
        let text = serialized.get(value);
        if (text === undefined) {
            text = JSON.stringify(value);
            serialized.set(value, text);
        }
        return JSON.parse(text);
    };
}

/** Provider references are `<provider urn>::<id>`; return the URN part. */
function providerUrn(ref: string): string {
    const i = ref.lastIndexOf("::");
    return i > 0 && ref.slice(0, i).split("::").length >= 4 ? ref.slice(0, i) : ref;
}

function options(r: GraphResource): PolicyResourceOptions {
    const opts: PolicyResourceOptions & Record<string, unknown> = {
        protect: !!r.protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
    };
    if (r.parent) {
        opts.parent = r.parent;
    }
    // Not in PolicyResourceOptions, but handy offline (extra fields are harmless to the rules).
    opts.retainOnDelete = !!r.retainOnDelete;
    opts.dependencies = [...(r.dependencies ?? [])];
    if (r.provider) {
        opts.provider = r.provider;
    }
    return opts;
}

/**
 * Runs the rules on `graph` and returns the violations (with the level each rule ran at).
 * Throws when a rule throws anything but an UnknownValueError / notApplicable, or on a bad config.
 */
export async function runPolicies(graph: GraphLike, opts: RunPoliciesOptions = {}): Promise<Violation[]> {
    const policies = opts.policies ?? allPolicies;
    const config = opts.config ?? {};
    const packLevel = opts.packEnforcementLevel ?? PACK_ENFORCEMENT_LEVEL;
    const resources = graph.resources ?? [];
    const tags = new Map<string, string>(Object.entries(opts.stackTags ?? {
        ...(graph.project ? { "pulumi:project": graph.project } : {}),
        ...(graph.stack ? { "pulumi:stack": graph.stack } : {}),
    }));
    const stackTags: ReadonlyMap<string, string> = tags;
    const byUrn = new Map(resources.map(r => [r.urn, r]));
    const copy = copier();
    const noInputs = {};
    const inputsOf = (r: GraphResource) => copy(r.inputs ?? noInputs);

    const providerOf = (r: GraphResource): PolicyProviderResource | undefined => {
        if (!r.provider) {
            return undefined;
        }
        const p = byUrn.get(r.provider) ?? byUrn.get(providerUrn(r.provider));
        return p ? { type: p.type, props: inputsOf(p), urn: p.urn, name: p.name } : undefined;
    };

    const violations: Violation[] = [];
    for (const policy of policies) {
        const resolved = resolvePolicyConfig(policy, config);
        let level = resolved.enforcementLevel ?? policy.enforcementLevel ?? packLevel;
        if (level === "disabled") {
            continue;
        }
        if (level === "remediate") {
            level = "mandatory"; // the engine reports violations of remediate rules as mandatory
        }
        const runLevel = level as Violation["level"];
        const getConfig = <T extends object>(): T => clone(resolved.properties) as T;
        const unknownViolation = (e: Error, urn: string | null) => violations.push({
            policy: policy.name,
            level: "advisory",
            urn,
            message: `can't run policy '${policy.name}' during preview: ${e.message}. Fix: make the value known at preview ` +
                "(literal values, object-form policy documents) or rely on the check during `pulumi up`.",
        });
        /** Runs one validation as the engine does: notApplicable skips, an unknown value is advisory, anything else is an error. */
        const runGuarded = async (validate: () => unknown, urn: string | null, subject: string): Promise<void> => {
            try {
                await Promise.resolve(validate());
            } catch (e) {
                if (e instanceof NotApplicableError) {
                    return;
                }
                if (isUnknownValueError(e)) {
                    unknownViolation(e, urn);
                    return;
                }
                throw new Error(`Error validating ${subject} with policy '${policy.name}': ${(e as Error)?.stack ?? e}`);
            }
        };

        if ("validateResource" in policy && policy.validateResource) {
            const validations: ResourceValidation[] = Array.isArray(policy.validateResource)
                ? policy.validateResource : [policy.validateResource];
            for (const r of resources) {
                for (const validation of validations) {
                    const only = pulumiTypeOf(validation);
                    if (only && only !== r.type) {
                        continue;
                    }
                    const props = inputsOf(r);
                    const args: ResourceValidationArgs = {
                        type: r.type,
                        props,
                        urn: r.urn,
                        name: r.name,
                        opts: options(r),
                        stackTags,
                        isType: (cls) => isTypeOf(r.type, cls),
                        asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
                        getConfig,
                        notApplicable: throwNotApplicable,
                    };
                    if (r.provider && (byUrn.has(r.provider) || byUrn.has(providerUrn(r.provider)))) {
                        // Copied only for a rule that reads it.
                        let provider: PolicyProviderResource | undefined | null = null;
                        Object.defineProperty(args, "provider", {
                            enumerable: true,
                            configurable: true,
                            get: () => (provider === null ? (provider = providerOf(r)) : provider),
                        });
                    }
                    // As in the engine, the urn argument is ignored for resource validations.
                    const report: ReportViolation = (message: string) => {
                        violations.push({ policy: policy.name, level: runLevel, urn: r.urn, message: String(message) });
                    };
                    await runGuarded(() => validation(args, report), r.urn, `resource ${r.urn}`);
                }
            }
        }

        const validateStack = (policy as { validateStack?: StackValidation | StackValidation[] }).validateStack;
        if (validateStack) {
            const validations = Array.isArray(validateStack) ? validateStack : [validateStack];
            for (const validation of validations) {
                const only = pulumiTypeOf(validation);
                if (only && !resources.some(r => r.type === only)) {
                    continue;
                }
                const policyResources = buildPolicyResources(resources, providerOf, inputsOf);
                const args: StackValidationArgs = {
                    resources: policyResources,
                    stackTags,
                    getConfig,
                    notApplicable: throwNotApplicable,
                };
                const report: ReportViolation = (message: string, urn?: string) => {
                    violations.push({ policy: policy.name, level: runLevel, urn: urn ?? null, message: String(message) });
                };
                await runGuarded(() => validation(args, report), null, "stack");
            }
        }
    }
    return violations;
}

/** The stack validation view of the graph: PolicyResources with parent/dependencies resolved. */
function buildPolicyResources(resources: GraphResource[],
    providerOf: (r: GraphResource) => PolicyProviderResource | undefined,
    inputsOf: (r: GraphResource) => Record<string, any>): PolicyResource[] {
    const out = new Map<string, PolicyResource>();
    for (const r of resources) {
        const props = inputsOf(r);
        const pr: PolicyResource = {
            type: r.type,
            props,
            urn: r.urn,
            name: r.name,
            opts: options(r),
            dependencies: [],
            propertyDependencies: {},
            isType: (cls) => isTypeOf(r.type, cls),
            asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
        };
        const provider = providerOf(r);
        if (provider) {
            pr.provider = provider;
        }
        out.set(r.urn, pr);
    }
    for (const r of resources) {
        const pr = out.get(r.urn)!;
        const parent = r.parent ? out.get(r.parent) : undefined;
        if (parent) {
            pr.parent = parent;
        }
        pr.dependencies = (r.dependencies ?? []).map(d => out.get(d)).filter((d): d is PolicyResource => !!d);
        for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
            pr.propertyDependencies[k] = (urns ?? []).map(d => out.get(d)).filter((d): d is PolicyResource => !!d);
        }
    }
    return [...out.values()];
}

/** True when any violation would fail a `pulumi up` (mandatory). */
export function hasMandatory(violations: Violation[]): boolean {
    return violations.some(v => v.level === "mandatory");
}
