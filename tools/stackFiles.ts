/**
 * Reads a Pulumi project (`Pulumi.yaml`) and a stack file (`Pulumi.<stack>.yaml`) and
 * produces the config the engine would hand the program: project-level defaults applied,
 * declared types checked, keys namespaced, every value a string (objects and lists
 * JSON-encoded), `secure:` values replaced by a placeholder (they cannot be decrypted here).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { SECRET } from "./graph";

export interface ProjectConfigDeclaration {
    type?: "string" | "integer" | "boolean" | "array";
    items?: { type: string };
    description?: string;
    secret?: boolean;
    default?: unknown;
}

export interface ProjectFile {
    name: string;
    runtime: unknown;
    description?: string;
    config?: Record<string, ProjectConfigDeclaration | string | number | boolean>;
    stackConfigDir?: string;
}

export interface StackSettings {
    project: ProjectFile;
    projectDir: string;
    stack: string;
    /** Path of the stack file that was read. */
    stackFile: string;
    /** Config as the engine passes it (`PULUMI_CONFIG`): namespaced keys, string values. */
    config: Record<string, string>;
    /** Keys whose values are secrets. */
    secretKeys: string[];
    /** Config problems the engine itself would refuse (missing required, wrong type). */
    problems: Array<{ key: string; value: unknown; message: string }>;
}

export class StackFileError extends Error {}

export function readProject(projectDir: string): ProjectFile {
    const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(projectDir, f)).find((f) => fs.existsSync(f));
    if (!file) {
        throw new StackFileError(`no Pulumi.yaml in ${projectDir}: --program must name a Pulumi project directory`);
    }
    const project = parseYaml(file) as ProjectFile;
    if (!project || typeof project.name !== "string") {
        throw new StackFileError(`${file} has no project name`);
    }
    return project;
}

/** Parses a YAML file; a syntax error names the file and the line (the first line of the parser's message). */
function parseYaml(file: string): unknown {
    try {
        return parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
        const message = (err as Error).message.split("\n")[0].replace(/:$/, "");
        throw new StackFileError(`${file} is not valid YAML: ${message}`);
    }
}

export function stackFilePath(projectDir: string, project: ProjectFile, stack: string): string {
    return path.join(projectDir, project.stackConfigDir ?? "", `Pulumi.${stack}.yaml`);
}

function isSecure(value: unknown): boolean {
    return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value as object).length === 1 && "secure" in (value as object);
}

/** Replaces `secure:` leaves with the secret placeholder; reports whether any were found. */
function maskSecure(value: unknown): { value: unknown; secret: boolean } {
    if (isSecure(value)) return { value: SECRET, secret: true };
    if (Array.isArray(value)) {
        const items = value.map(maskSecure);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (value !== null && typeof value === "object") {
        let secret = false;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            const m = maskSecure(v);
            out[k] = m.value;
            secret ||= m.secret;
        }
        return { value: out, secret };
    }
    return { value, secret: false };
}

/**
 * `ns:config:key` as `ns:key`: the legacy form Pulumi still accepts in a stack file, which the
 * SDK's setAllConfig turns into the other before the program reads it (cleanKey, in
 * @pulumi/pulumi's runtime/config.js). Done here, so that everything that reads the settings
 * (the engine's declared types, the plan's check of the stack file) sees the program's keys.
 */
function withoutLegacyConfig(key: string): string {
    const idx = key.indexOf(":");
    return idx > 0 && key.startsWith("config:", idx + 1) ? key.slice(0, idx) + ":" + key.slice(idx + 1 + "config:".length) : key;
}

function encode(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function typeOf(value: unknown): string {
    if (Array.isArray(value)) return "array";
    if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
    return typeof value;
}

export function readStackSettings(projectDir: string, stack: string, configFile?: string): StackSettings {
    const project = readProject(projectDir);
    const stackFile = configFile ? path.resolve(configFile) : stackFilePath(projectDir, project, stack);
    if (!fs.existsSync(stackFile)) {
        throw new StackFileError(`no stack file ${stackFile}: create it (see README "Adding a stack") or pass --config FILE`);
    }
    const parsed = (parseYaml(stackFile) ?? {}) as { config?: Record<string, unknown> };
    if (typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new StackFileError(`${stackFile}: must be a YAML mapping with a "config:" key, not ${Array.isArray(parsed) ? "a list" : JSON.stringify(parsed)}`);
    }
    const stackConfig = parsed.config ?? {};
    if (stackConfig === null || typeof stackConfig !== "object" || Array.isArray(stackConfig)) {
        throw new StackFileError(`${stackFile}: "config:" must be a mapping of keys to values`);
    }
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const problems: StackSettings["problems"] = [];
    const ns = (key: string) => (key.includes(":") ? withoutLegacyConfig(key) : `${project.name}:${key}`);
    // The stack file's values by full key (the legacy `ns:config:key` form as `ns:key`).
    const given: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(stackConfig)) given[ns(key)] = raw;

    for (const [key, raw] of Object.entries(given)) {
        const { value, secret } = maskSecure(raw);
        config[key] = encode(value);
        if (secret) secretKeys.push(key);
    }

    // Project-level config, as the engine applies it: defaults for unset keys, a required
    // value for keys declared without a default, and the declared type for keys that are set.
    for (const [key, declaration] of Object.entries(project.config ?? {})) {
        const fullKey = ns(key);
        const decl: ProjectConfigDeclaration = typeof declaration === "object" && declaration !== null ? declaration : { default: declaration };
        const value = given[fullKey];
        if (value === undefined) {
            if (decl.default !== undefined) {
                config[fullKey] = encode(decl.default);
            } else {
                problems.push({ key: fullKey, value: undefined, message: `Stack '${stack}' is missing configuration value '${key}' (declared in Pulumi.yaml without a default)` });
            }
            continue;
        }
        if (decl.type && !isSecure(value)) {
            const actual = typeOf(value);
            if (actual !== decl.type) {
                problems.push({ key: fullKey, value, message: `Stack '${stack}' with configuration key '${key}' must be of type '${decl.type}'` });
            } else if (decl.type === "array" && decl.items?.type) {
                (value as unknown[]).forEach((item, i) => {
                    if (typeOf(item) !== decl.items!.type) {
                        problems.push({ key: `${fullKey}[${i}]`, value: item, message: `must be of type '${decl.items!.type}'` });
                    }
                });
            }
        }
    }
    return { project, projectDir, stack, stackFile, config, secretKeys, problems };
}
