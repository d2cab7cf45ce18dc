/**
 * Typed, validated stack configuration.
 *
 * The stack file (`Pulumi.<stack>.yaml`) sets a few simple keys (declared with their types
 * in `Pulumi.yaml`) and one object per concern (`network`, `webTier`, ...). Each object is
 * merged over the defaults of the stack's `environment` and validated as a whole, so one
 * error names every bad key, the value given and what is allowed, including keys nobody
 * knows (a typo must not be silently ignored).
 *
 * Nothing here loads a Pulumi SDK until `loadConfig` runs in a program: `npm run plan` checks a
 * stack file with `parseStackConfig` before it runs the program, so a bad file is reported sooner.
 */
import { z } from "zod";
import { databaseSection } from "./config/database";
import { iamSection } from "./config/iam";
import { dnsSection } from "./config/dns";
import { networkSection } from "./config/network";
import { amiFactorySection, costSection, monitoringSection } from "./config/operations";
import { backupSection, bucketsSection } from "./config/storage";
import { nameProblems } from "./config/names";
import { suggest } from "./config/suggest";
import { formatProblems } from "./config/problems";
import { Check, CheckContext, ConfigProblem, ENVIRONMENTS, Environment, Finding, findings, Section } from "./config/types";
import { webTierSection } from "./config/webTier";

export { ConfigProblem, ENVIRONMENTS, Environment } from "./config/types";
export { suggest } from "./config/suggest";
export { formatProblems } from "./config/problems";

/** The object-valued keys, one per concern, in the order they are reported. */
export const SECTIONS = [
    networkSection,
    bucketsSection,
    webTierSection,
    databaseSection,
    dnsSection,
    backupSection,
    amiFactorySection,
    monitoringSection,
    costSection,
    iamSection,
] as const;

/**
 * A section as the loader walks them all: one shape, whatever its schema. Walking the union of
 * the ten sections' own types instead makes the type-checker relate every zod schema to every
 * other (seconds of `tsc` on each run), for no safety the loop can use: it handles each section
 * through `z.ZodType` anyway.
 */
interface AnySection {
    key: string;
    schema: z.ZodType;
    defaults(environment: Environment, stack: string): unknown;
    check?: ((value: never, context: CheckContext) => Finding[]) | { readonly each: ReadonlyArray<Check<never>> };
}
// Through `unknown`: relating the ten schemas to AnySection costs what the loop over them did.
// Each entry is a Section<S> (made by `section()`, which checks its shape), and every
// Section<S> has this shape.
const WALKED_SECTIONS = SECTIONS as ReadonlyArray<unknown> as ReadonlyArray<AnySection>;

/**
 * The simple keys, declared with the same types and defaults in `Pulumi.yaml`'s `config:`
 * block (a test keeps the two in step). `environment` has no default on purpose: a stack
 * that forgets it must fail rather than quietly get dev's settings.
 */
export const SIMPLE_KEYS = {
    environment: { type: "string", description: "Which defaults the stack starts from: dev (cheap), staging or prod (highly available).", default: undefined },
    owner: { type: "string", description: "Owner tag on every resource (team or person to ask).", default: "platform-team" },
    alarmEmails: { type: "array", items: { type: "string" }, description: "E-mail addresses subscribed to the stack's alert topic.", default: [] as string[] },
} as const;

type SectionOutput<S> = S extends Section<infer T> ? z.output<T> : never;

export type NetworkConfig = SectionOutput<typeof networkSection>;
export type BucketsConfig = SectionOutput<typeof bucketsSection>;
export type WebTierConfig = SectionOutput<typeof webTierSection>;
export type DatabaseConfig = SectionOutput<typeof databaseSection>;
export type DnsConfig = SectionOutput<typeof dnsSection>;
export type BackupConfig = SectionOutput<typeof backupSection>;
export type AmiFactoryConfig = SectionOutput<typeof amiFactorySection>;
export type MonitoringConfig = SectionOutput<typeof monitoringSection>;
export type CostConfig = SectionOutput<typeof costSection>;
export type IamConfig = SectionOutput<typeof iamSection>;

export interface StackConfig {
    project: string;
    stack: string;
    environment: Environment;
    /** True for `prod`: data-holding resources are protected from deletion. */
    isProduction: boolean;
    /** The AWS region (`aws:region`). */
    region: string;
    owner: string;
    alarmEmails: string[];
    /** Tags applied to every resource through the provider's default tags. */
    tags: Record<string, string>;
    network: NetworkConfig;
    buckets: BucketsConfig;
    webTier: WebTierConfig;
    database: DatabaseConfig;
    dns: DnsConfig;
    backup: BackupConfig;
    amiFactory: AmiFactoryConfig;
    monitoring: MonitoringConfig;
    cost: CostConfig;
    iam: IamConfig;
}

/**
 * Thrown by parseStackConfig with every problem found; `message` lists them all, one per line.
 * (In a program, loadConfig throws it as a Pulumi RunError.)
 */
export class ConfigError extends Error {
    // `stackName`, not `stack`: that would overwrite Error's own `stack`, which Node prints.
    constructor(
        readonly stackName: string,
        readonly problems: ConfigProblem[],
    ) {
        super(formatProblems(stackName, problems));
        this.name = "ConfigError";
    }
}


const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * Validates raw stack config as the engine passes it: keys `namespace:key`, every value a
 * string (objects and arrays JSON-encoded). Throws a ConfigError naming every problem.
 */
export function parseStackConfig(raw: Record<string, string>, project: string, stack: string): StackConfig {
    const problems: ConfigProblem[] = [];
    const ns = `${project}:`;
    const known = new Set<string>([...Object.keys(SIMPLE_KEYS), ...WALKED_SECTIONS.map((s) => s.key)]);
    const own: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(raw)) {
        if (!fullKey.startsWith(ns)) continue;
        const key = fullKey.slice(ns.length);
        if (!known.has(key)) {
            problems.push({ key: fullKey, value: decode(value), message: `unknown key${suggest(key, [...known])}; known keys: ${[...known].join(", ")}` });
            continue;
        }
        own[key] = value;
    }

    problems.push(...nameProblems(project, stack));

    const region = raw["aws:region"];
    if (region === undefined || !AWS_REGION.test(region)) {
        problems.push({ key: "aws:region", value: region, message: "must be set to an AWS region such as us-east-1 (pulumi config set aws:region us-east-1)" });
    }

    const environment = own.environment;
    const envValid = environment !== undefined && (ENVIRONMENTS as readonly string[]).includes(environment);
    if (environment === undefined) {
        problems.push({ key: `${ns}environment`, value: undefined, message: `is required; one of ${ENVIRONMENTS.join(", ")}` });
    } else if (!envValid) {
        problems.push({ key: `${ns}environment`, value: environment, message: `unknown environment${suggest(environment, [...ENVIRONMENTS])}; allowed: ${ENVIRONMENTS.join(", ")}` });
    }
    const env: Environment = envValid ? (environment as Environment) : "dev";

    const owner = own.owner ?? SIMPLE_KEYS.owner.default;
    if (!/^[\w .:/=+@-]{1,256}$/.test(owner)) {
        problems.push({ key: `${ns}owner`, value: owner, message: "must be a valid tag value (1-256 letters, digits, spaces and _ . : / = + - @)" });
    }
    const alarmEmails = decodeArray(own.alarmEmails, `${ns}alarmEmails`, problems) ?? [...SIMPLE_KEYS.alarmEmails.default];
    alarmEmails.forEach((email, i) => {
        if (typeof email !== "string" || !EMAIL.test(email)) {
            problems.push({ key: `${ns}alarmEmails[${i}]`, value: email, message: "must be an e-mail address" });
        }
    });

    const given: Record<string, Record<string, unknown> | undefined> = {};
    for (const s of WALKED_SECTIONS) given[s.key] = decodeObject(own[s.key], `${ns}${s.key}`, problems);
    // The sections start from the environment's defaults. Without a valid environment, only what
    // is wrong whichever environment was meant is reported (a check against dev's defaults could
    // blame a key that is right for the prod the user intended).
    const notObjects = new Set(WALKED_SECTIONS.filter((s) => own[s.key] !== undefined && given[s.key] === undefined).map((s) => s.key));
    const scenarios = (envValid ? [env] : [...ENVIRONMENTS]).map((e) => evaluateSections(given, notObjects, e, stack, ns));
    problems.push(...commonProblems(scenarios.map((sc) => sc.problems)));
    const sections = scenarios[0].sections;
    if (!envValid || problems.length > 0) {
        throw new ConfigError(stack, problems);
    }
    return {
        project,
        stack,
        environment: env,
        isProduction: env === "prod",
        region: region as string,
        owner,
        alarmEmails: alarmEmails as string[],
        tags: { Project: project, Stack: stack, Environment: env, Owner: owner, ManagedBy: "pulumi" },
        ...(sections as Omit<StackConfig, "project" | "stack" | "environment" | "isProduction" | "region" | "owner" | "alarmEmails" | "tags">),
    };
}

type Scenario = { problems: ConfigProblem[]; sections: Record<string, unknown> };

/**
 * A section's value as its checks see it: `value` parses (it is the given value, or the given
 * value with each field the schema refused replaced by a placeholder), and `failed` lists the
 * fields that failed ("" for the whole section). A check that reads a failed field is skipped.
 */
interface Checked {
    value: unknown;
    failed: string[];
}

/** Every section validated for one environment: schema problems, then each section's checks, then the checks across sections. */
function evaluateSections(given: Record<string, Record<string, unknown> | undefined>, notObjects: Set<string>, env: Environment, stack: string, ns: string): Scenario {
    const problems: ConfigProblem[] = [];
    const sections: Record<string, unknown> = {};
    const checked: Record<string, Checked> = {};
    for (const s of WALKED_SECTIONS) {
        const schema = s.schema;
        const defaults = s.defaults(env, stack);
        const ownValue = given[s.key] ?? {};
        const merged = deepMerge(defaults, ownValue);
        const parsed = schema.safeParse(merged);
        if (notObjects.has(s.key)) {
            // Already reported ("must be an object"): its defaults stand in, and nothing may judge them.
            checked[s.key] = { value: (schema.safeParse(defaults) as { data?: unknown }).data ?? {}, failed: [""] };
        } else if (parsed.success) {
            sections[s.key] = parsed.data;
            checked[s.key] = { value: parsed.data, failed: [] };
        } else {
            for (const issue of parsed.error.issues) problems.push(...issueToProblems(issue, `${ns}${s.key}`, ownValue, schema));
            // A wrong field must not hide the section's other checks, nor make one up: the fields
            // the schema refused get a placeholder that parses, and every check that reads one is
            // skipped (runChecks records what each check reads).
            const repaired = repairSection(schema, merged, defaults, parsed.error.issues);
            checked[s.key] = repaired
                ? { value: repaired.value, failed: repaired.tainted.map((p) => p.join(".")) }
                : { value: (schema.safeParse(defaults) as { data?: unknown }).data ?? {}, failed: [""] };
        }
        const { value, failed } = checked[s.key];
        if (!s.check || failed.includes("")) continue;
        const each: ReadonlyArray<Check<unknown>> = "each" in s.check ? (s.check.each as ReadonlyArray<Check<unknown>>) : [s.check as Check<unknown>];
        for (const f of runChecks(each, value, failed, { environment: env, stack })) {
            problems.push({ key: `${ns}${s.key}.${f.path}`, value: lookup(ownValue, f.path.split(".")) ?? lookup(merged, f.path.split(".")), message: f.message });
        }
    }
    // The checks across sections read the sections' fields: a failed field (`webTier.minSize`)
    // skips only the cross checks that read it.
    const all = Object.fromEntries(Object.entries(checked).map(([k, c]) => [k, c.value]));
    const failed = Object.entries(checked).flatMap(([k, c]) => c.failed.map((f) => (f === "" ? k : `${k}.${f}`)));
    for (const f of runChecks(CROSS_SECTION_CHECKS as ReadonlyArray<Check<unknown>>, all, failed, { environment: env, stack })) {
        problems.push({ key: `${ns}${f.path}`, value: lookup(all, f.path.split(".")), message: f.message });
    }
    return { problems, sections };
}

/**
 * Runs each check on `value` and returns what they find, except for the checks that read a
 * field in `failed` (or inside one): their result would be about a placeholder. What a check
 * reads is recorded as it runs (a proxy over the value), so a check that returns early without
 * touching a failed field still reports.
 */
export function runChecks<T>(each: ReadonlyArray<Check<T>>, value: T, failed: string[], context: CheckContext): Finding[] {
    const out: Finding[] = [];
    for (const check of each) {
        const reads = new Set<string>();
        const readsFailed = () => failed.some((f) => f === "" || [...reads].some((r) => r === f || r.startsWith(`${f}.`)));
        let result: ReturnType<Check<T>>;
        try {
            result = check(recordReads(value, reads), context);
        } catch (err) {
            if (readsFailed()) continue;
            throw err;
        }
        if (!readsFailed()) out.push(...findings(result));
    }
    return out;
}

/** `value` behind a proxy that adds the dotted path of every field read (at any depth) to `reads`. */
function recordReads<T>(value: T, reads: Set<string>, prefix = ""): T {
    if (value === null || typeof value !== "object") return value;
    const at = (prop: string) => (prefix ? `${prefix}.${prop}` : prop);
    return new Proxy(value as object, {
        get(target, prop, receiver) {
            const v = Reflect.get(target, prop, receiver);
            if (typeof prop === "symbol" || typeof v === "function") return v;
            reads.add(at(prop));
            return recordReads(v, reads, at(prop));
        },
        has(target, prop) {
            if (typeof prop === "string") reads.add(at(prop));
            return Reflect.has(target, prop);
        },
        ownKeys(target) {
            // Listing the keys reads the container itself (which keys a list has depends on its items).
            if (prefix) reads.add(prefix);
            return Reflect.ownKeys(target);
        },
    }) as T;
}

/** The problems every scenario reports (same key, value and message), in the first scenario's order. */
function commonProblems(scenarios: ConfigProblem[][]): ConfigProblem[] {
    const id = (p: ConfigProblem) => `${p.key}\u0000${JSON.stringify(p.value)}\u0000${p.message}`;
    const others = scenarios.slice(1).map((list) => new Set(list.map(id)));
    const seen = new Set<string>();
    return scenarios[0].filter((p) => {
        const keep = others.every((o) => o.has(id(p))) && !seen.has(id(p));
        seen.add(id(p));
        return keep;
    });
}

/**
 * The section with every field the schema refused replaced by its default (or dropped when it
 * has none) and unknown keys removed; `tainted` lists the fields replaced. Undefined when the
 * result still does not parse.
 */
function repairSection(schema: z.ZodType, merged: unknown, defaults: unknown, issues: z.core.$ZodIssue[]): { value: unknown; tainted: string[][] } | undefined {
    let value = structuredClone(merged);
    const tainted: string[][] = [];
    for (let round = 0; round < 3; round++) {
        for (const issue of issues) {
            const path = issue.path.map(String);
            if (issue.code === "unrecognized_keys") {
                for (const k of issue.keys) setAt(value, [...path, k], undefined);
                continue;
            }
            // Inside a list, the whole list is replaced: its items are not checked one by one.
            const index = path.findIndex((p) => /^\d+$/.test(p));
            const field = index >= 0 ? path.slice(0, index) : path;
            if (field.length === 0) return undefined;
            setAt(value, field, structuredClone(lookup(defaults, field)));
            if (!tainted.some((t) => t.join(".") === field.join("."))) tainted.push(field);
        }
        const reparsed = schema.safeParse(value);
        if (reparsed.success) return { value: reparsed.data, tainted };
        issues = reparsed.error.issues;
    }
    return undefined;
}

function setAt(obj: unknown, path: string[], value: unknown): void {
    let cur = obj as Record<string, unknown>;
    for (const part of path.slice(0, -1)) {
        if (!isPlainObject(cur[part])) cur[part] = {};
        cur = cur[part] as Record<string, unknown>;
    }
    const last = path[path.length - 1];
    if (value === undefined) delete cur[last];
    else cur[last] = value;
}

type Sections = Pick<StackConfig, "network" | "webTier" | "dns">;

/**
 * Checks that span sections, one rule each (paths are `section.field`). They run like a
 * section's checks: a field that failed its schema skips exactly the checks that read it.
 */
const CROSS_SECTION_CHECKS: ReadonlyArray<Check<Sections>> = [
    ({ webTier }, { environment }) =>
        environment === "prod" &&
        webTier.mode === "single" && {
            path: "webTier.mode",
            message: 'must be "asg" in prod: single mode has no load balancer, so no HTTPS termination, no redundancy and no health-checked replacement',
        },
    // Production never serves plain HTTP from the internet: its load balancer forwards HTTPS only
    // and HTTP only redirects, which needs a certificate from one of two sources.
    ({ webTier, dns }, { environment }) =>
        environment === "prod" &&
        webTier.mode === "asg" &&
        !dns.enabled &&
        webTier.certificateArn === undefined && {
            path: "webTier.certificateArn",
            message:
                "prod serves HTTPS only and needs a certificate: either enable DNS (dns.enabled: true with dns.parentDomain set to your domain; " +
                "the stack creates its zone and a DNS-validated ACM certificate) or set webTier.certificateArn to an ACM certificate in the stack's region",
        },
    ({ webTier, dns }) =>
        dns.enabled &&
        webTier.mode === "single" && {
            path: "dns.enabled",
            message: 'needs webTier.mode "asg": the certificate, alias records and health check point at the load balancer, which single mode does not have',
        },
    ({ network, webTier }) =>
        webTier.mode === "asg" &&
        network.natGateways === "none" &&
        !network.interfaceEndpoints && {
            path: "network.interfaceEndpoints",
            message:
                'must be true when natGateways is "none" and webTier.mode is "asg": the group\'s instances run in private subnets and, ' +
                'without NAT or interface endpoints, cannot reach SSM (or use webTier.mode "single", whose instance has a public address)',
        },
];

/**
 * Reads and validates the running program's config (the real engine or the offline one). A
 * ConfigError is thrown as a RunError with the same name, message and problems: the engine
 * prints a RunError's message alone, without a stack trace.
 */
export function loadConfig(): StackConfig {
    return inProgram((pulumi) => parseStackConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack()));
}

/**
 * Runs a program's config loader with the Pulumi SDK (required here, in the program, rather than
 * imported at the top: see the module's comment) and throws a ConfigError as a RunError with the
 * same name, message and problems (the bootstrap's loader uses it too).
 */
export function inProgram<T>(load: (pulumi: typeof import("@pulumi/pulumi")) => T): T {
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    try {
        return load(pulumi);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        throw Object.assign(new pulumi.RunError(err.message), { name: err.name, stackName: err.stackName, problems: err.problems });
    }
}

function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function decodeObject(value: string | undefined, key: string, problems: ConfigProblem[]): Record<string, unknown> | undefined {
    if (value === undefined) return undefined;
    const parsed = decode(value);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        problems.push({ key, value: parsed, message: "must be an object (a YAML mapping of settings)" });
        return undefined;
    }
    return parsed as Record<string, unknown>;
}

function decodeArray(value: string | undefined, key: string, problems: ConfigProblem[]): unknown[] | undefined {
    if (value === undefined) return undefined;
    const parsed = decode(value);
    if (!Array.isArray(parsed)) {
        problems.push({ key, value: parsed, message: "must be a list" });
        return undefined;
    }
    return parsed;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Merges `override` over `base`; nested objects merge, everything else (arrays too) replaces. */
export function deepMerge(base: unknown, override: unknown): unknown {
    if (!isPlainObject(base) || !isPlainObject(override)) {
        return override === undefined ? base : override;
    }
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(override)) {
        out[k] = deepMerge(base[k], v);
    }
    return out;
}

function lookup(obj: unknown, path: Array<string | number>): unknown {
    let cur: unknown = obj;
    for (const part of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<string, unknown>)[String(part)];
    }
    return cur;
}

function issueToProblems(issue: z.core.$ZodIssue, prefix: string, given: unknown, schema: z.ZodType): ConfigProblem[] {
    const path = issue.path.map(String);
    const where = (p: string[]) => `${prefix}${p.map((x) => (/^\d+$/.test(x) ? `[${x}]` : `.${x}`)).join("")}`;
    if (issue.code === "unrecognized_keys") {
        const knownKeys = objectKeysAt(schema, path);
        return issue.keys.map((k) => ({
            key: where([...path, k]),
            value: lookup(given, [...path, k]),
            message: `unknown key${suggest(k, knownKeys)}${knownKeys.length ? `; known keys: ${knownKeys.join(", ")}` : ""}`,
        }));
    }
    const value = lookup(given, path);
    return [{ key: where(path), value, message: humanMessage(issue, value) }];
}

/** zod's default wording, rephrased as "what is allowed" (custom messages pass through). */
export function humanMessage(issue: z.core.$ZodIssue, value: unknown): string {
    const i = issue as z.core.$ZodIssue & Record<string, any>;
    switch (issue.code) {
        case "invalid_type":
            if (i.expected === "int") return "must be a whole number";
            return value === undefined ? `is required (a ${i.expected})` : `must be a ${i.expected}`;
        case "too_small":
            if (!i.message.startsWith("Too small")) return i.message;
            return `must be ${i.inclusive ? "at least" : "more than"} ${i.minimum}${i.origin === "array" ? " item(s)" : i.origin === "string" ? " character(s)" : ""}`;
        case "too_big":
            if (!i.message.startsWith("Too big")) return i.message;
            return `must be at most ${i.maximum}${i.origin === "array" ? " item(s)" : i.origin === "string" ? " character(s)" : ""}`;
        case "invalid_value":
            return `must be one of ${i.values.map((v: unknown) => JSON.stringify(v)).join(", ")}`;
        case "invalid_union": {
            const values = (i.errors as Array<Array<Record<string, any>>>).flat().flatMap((e) => (e.code === "invalid_value" ? e.values : []));
            return values.length ? `must be one of ${values.map((v: unknown) => JSON.stringify(v)).join(", ")}` : "is not an allowed value";
        }
        default:
            return issue.message;
    }
}

/** The field names of the object schema found at `path` within `schema` (unwrapping optionals and arrays). */
function objectKeysAt(schema: z.ZodType, path: string[]): string[] {
    let cur: unknown = schema;
    for (const part of [...path, ""]) {
        // The wrappers' members are typed loosely: narrowing `unknown` to zod's generic classes and
        // calling through them cost the type-checker half a second on every run.
        while (cur instanceof z.ZodOptional || cur instanceof z.ZodArray) {
            cur = cur instanceof z.ZodOptional ? (cur as { unwrap(): unknown }).unwrap() : (cur as { element: unknown }).element;
        }
        if (part === "") break;
        if (!(cur instanceof z.ZodObject)) return [];
        if (/^\d+$/.test(part)) continue;
        cur = (cur.shape as Record<string, unknown>)[part];
    }
    return cur instanceof z.ZodObject ? Object.keys(cur.shape) : [];
}
