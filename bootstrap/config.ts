/**
 * The bootstrap's configuration, validated as a whole like the main program's: one error names
 * every bad key, the value given and what is allowed (the offline plan exits 2 with it).
 */
import { ConfigError, ConfigProblem, inProgram, suggest } from "../config";
import type { StackFacts } from "./policies";

export interface BootstrapConfig {
    /** `owner/repo`. */
    githubRepository: string;
    region: string;
    partition: string;
    /** The main project's stacks this account runs, with what their plans need. */
    stacks: StackFacts[];
    backend: "s3" | "pulumi-cloud";
    deploySessionSeconds: number;
    readSessionSeconds: number;
    stateVersionsDays: number;
    githubOidcProviderArn?: string;
    owner: string;
    tags: Record<string, string>;
}

const KEYS = ["githubRepository", "stacks", "backend", "deploySessionHours", "readSessionHours", "stateVersionsDays", "githubOidcProviderArn", "owner"];
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

/** The partition a region belongs to (ARNs differ: aws, aws-us-gov, aws-cn). */
export function partitionOf(region: string): string {
    return region.startsWith("us-gov-") ? "aws-us-gov" : region.startsWith("cn-") ? "aws-cn" : "aws";
}

function integer(raw: string | undefined, fallback: number): number | undefined {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    return Number.isInteger(n) ? n : undefined;
}

/** Validates raw config (the engine's form: namespaced keys, string values) against the generated stack facts. */
export function parseBootstrapConfig(raw: Record<string, string>, project: string, stack: string, facts: Record<string, StackFacts>): BootstrapConfig {
    const ns = `${project}:`;
    const problems: ConfigProblem[] = [];
    const own: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) {
        if (!key.startsWith(ns)) continue;
        const short = key.slice(ns.length);
        if (!KEYS.includes(short)) problems.push({ key, value, message: `unknown key${suggest(short, KEYS)}; known keys: ${KEYS.join(", ")}` });
        else own[short] = value;
    }
    const region = raw["aws:region"];
    if (!region || !REGION.test(region)) problems.push({ key: "aws:region", value: region, message: "must be set to an AWS region such as us-east-1 (the state bucket and the roles' home)" });

    const repo = own.githubRepository;
    if (!repo || !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/.test(repo)) {
        problems.push({ key: `${ns}githubRepository`, value: repo, message: "must be the GitHub repository as owner/repo (the OIDC subjects are repo:<owner>/<repo>:...)" });
    }

    let stackNames: unknown;
    try {
        stackNames = own.stacks === undefined ? undefined : JSON.parse(own.stacks);
    } catch {
        stackNames = own.stacks;
    }
    const known = Object.keys(facts);
    const stacks: StackFacts[] = [];
    if (!Array.isArray(stackNames) || stackNames.length === 0) {
        problems.push({ key: `${ns}stacks`, value: stackNames, message: `must list the main project's stacks this account runs, e.g. [${known.join(", ")}]` });
    } else {
        stackNames.forEach((name, i) => {
            if (typeof name !== "string" || !facts[name]) {
                problems.push({
                    key: `${ns}stacks[${i}]`,
                    value: name,
                    message: `no such stack in bootstrap/stacks.generated.json${typeof name === "string" ? suggest(name, known) : ""}; known: ${known.join(", ")} (a new stack: add its Pulumi.<stack>.yaml, then npm run ci-permissions -- --write)`,
                });
            } else if (stacks.some((s) => s.stack === name)) {
                problems.push({ key: `${ns}stacks[${i}]`, value: name, message: "is listed twice" });
            } else if ((facts[name].rolesWithoutBoundary ?? []).length > 0) {
                // Its deploy role may create roles only with the stack's boundary: a deploy would fail.
                problems.push({
                    key: `${ns}stacks[${i}]`,
                    value: name,
                    message: `creates roles without its CI permissions boundary (${facts[name].rolesWithoutBoundary.join(", ")}): set platform:iam: { permissionsBoundary: ci } in Pulumi.${name}.yaml, then npm run ci-permissions -- --write`,
                });
            } else stacks.push(facts[name]);
        });
    }

    const backend = own.backend ?? "s3";
    if (backend !== "s3" && backend !== "pulumi-cloud") problems.push({ key: `${ns}backend`, value: backend, message: `must be s3 (a state bucket in this account) or pulumi-cloud${suggest(backend, ["s3", "pulumi-cloud"])}` });

    const hours = (key: string, fallback: number) => {
        const n = integer(own[key], fallback);
        // IAM: a role's maximum session duration is 1 to 12 hours (CreateRole, MaxSessionDuration: 3600-43200 seconds).
        if (n === undefined || n < 1 || n > 12) problems.push({ key: `${ns}${key}`, value: own[key], message: "must be a whole number of hours from 1 to 12 (IAM's range for a role's maximum session)" });
        return (n ?? fallback) * 3600;
    };
    const deploySessionSeconds = hours("deploySessionHours", 2);
    const readSessionSeconds = hours("readSessionHours", 1);
    const stateVersionsDays = integer(own.stateVersionsDays, 90);
    if (stateVersionsDays === undefined || stateVersionsDays < 1) problems.push({ key: `${ns}stateVersionsDays`, value: own.stateVersionsDays, message: "must be a whole number of days, at least 1" });

    const providerArn = own.githubOidcProviderArn ?? "";
    if (providerArn !== "" && !/^arn:aws(-[a-z-]+)?:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/.test(providerArn)) {
        problems.push({ key: `${ns}githubOidcProviderArn`, value: providerArn, message: "must be empty or the ARN of this account's token.actions.githubusercontent.com identity provider" });
    }
    const owner = own.owner ?? "platform-team";
    if (!/^[\w .:/=+@-]{1,256}$/.test(owner)) problems.push({ key: `${ns}owner`, value: owner, message: "must be a valid tag value (1-256 letters, digits, spaces and _ . : / = + - @)" });
    // The state bucket is <project>-pulumi-state-<account>-<region>: S3 allows 63 characters.
    const mainProject = stacks[0]?.project ?? "platform";
    if (region && REGION.test(region) && `${mainProject}-pulumi-state-123456789012-${region}`.length > 63) {
        problems.push({ key: "aws:region", value: region, message: `the state bucket's name (${mainProject}-pulumi-state-<account>-${region}) would exceed S3's 63 characters` });
    }

    if (problems.length > 0) throw new ConfigError(stack, problems);
    return {
        githubRepository: repo!,
        region: region!,
        partition: partitionOf(region!),
        stacks,
        backend: backend as "s3" | "pulumi-cloud",
        deploySessionSeconds,
        readSessionSeconds,
        stateVersionsDays: stateVersionsDays!,
        ...(providerArn ? { githubOidcProviderArn: providerArn } : {}),
        owner,
        tags: { Project: project, Stack: stack, Owner: owner, ManagedBy: "pulumi", Purpose: "ci-bootstrap" },
    };
}

/** The stack's config, as the engine hands it over. */
export function loadBootstrapConfig(facts: Record<string, StackFacts>): BootstrapConfig {
    return inProgram((pulumi) => parseBootstrapConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack(), facts));
}
