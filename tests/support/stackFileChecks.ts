/**
 * The checks every stack file must pass, for the project in any directory (the project itself,
 * or a copy with a stack added as the README says): what the engine and config.ts actually
 * require, not what the shipped stacks happen to state.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ConfigError, parseStackConfig, SECTIONS } from "../../config";
import { readProject, readStackSettings } from "../../tools/stackFiles";

/** The provider's own config keys a stack file may set (`aws:region` is required). */
const AWS_KEYS = ["region", "profile", "allowedAccountIds", "forbiddenAccountIds", "sharedConfigFiles", "sharedCredentialsFiles"];

function typeOf(value: unknown): string {
    if (Array.isArray(value)) return "array";
    if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
    return typeof value;
}

/** What is wrong with `Pulumi.<stack>.yaml` of the project in `projectDir`, one line each (none: it is fine). */
export function stackFileProblems(projectDir: string, stack: string): string[] {
    const project = readProject(projectDir);
    const file = path.join(projectDir, project.stackConfigDir ?? "", `Pulumi.${stack}.yaml`);
    const config = (parse(fs.readFileSync(file, "utf8"))?.config ?? {}) as Record<string, unknown>;
    const declared = (project.config ?? {}) as Record<string, { type?: string; default?: unknown }>;
    const sectionKeys = SECTIONS.map((s) => s.key);
    const problems: string[] = [];
    for (const [fullKey, value] of Object.entries(config)) {
        const [ns, key] = fullKey.split(":");
        if (ns === "aws") {
            if (!AWS_KEYS.includes(key)) problems.push(`${fullKey}: not an aws provider key this project uses (${AWS_KEYS.join(", ")})`);
        } else if (ns !== project.name) {
            problems.push(`${fullKey}: keys belong to the project namespace "${project.name}:"`);
        } else if (key in declared) {
            if (declared[key].type && typeOf(value) !== declared[key].type) problems.push(`${fullKey}: declared in Pulumi.yaml as ${declared[key].type}, not ${typeOf(value)}`);
        } else if (!sectionKeys.includes(key)) {
            problems.push(`${fullKey}: not a known key`);
        } else if (typeOf(value) !== "object") {
            problems.push(`${fullKey}: sections are objects, not ${typeOf(value)}`);
        }
    }
    if (!("aws:region" in config)) problems.push("aws:region: required");
    for (const [key, decl] of Object.entries(declared)) {
        if (decl.default === undefined && !(`${project.name}:${key}` in config)) problems.push(`${project.name}:${key}: required (declared in Pulumi.yaml without a default)`);
    }
    const settings = readStackSettings(projectDir, stack);
    for (const p of settings.problems) problems.push(`${p.key}: ${p.message}`);
    try {
        parseStackConfig(settings.config, project.name, stack);
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.problems.map((p) => `${p.key}: ${p.message}`));
    }
    return [...new Set(problems)];
}

/** The stacks of the project, from their files. */
export function stackNames(projectDir: string): string[] {
    const project = readProject(projectDir);
    return fs
        .readdirSync(path.join(projectDir, project.stackConfigDir ?? ""))
        .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** Stacks whose VPCs (after defaults) share a range, as "a and b: 10.0.0.0/16" lines: every stack needs its own. */
export function sharedVpcRanges(projectDir: string): string[] {
    const project = readProject(projectDir);
    const byCidr = new Map<string, string[]>();
    for (const stack of stackNames(projectDir)) {
        const cidr = parseStackConfig(readStackSettings(projectDir, stack).config, project.name, stack).network.vpcCidr;
        byCidr.set(cidr, [...(byCidr.get(cidr) ?? []), stack]);
    }
    return [...byCidr].filter(([, stacks]) => stacks.length > 1).map(([cidr, stacks]) => `${stacks.join(" and ")}: ${cidr}`);
}
