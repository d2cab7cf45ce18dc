/**
 * `npm run -s ci-check [-- --repo <owner>/<repo>]`: checks, through GitHub's REST API, the
 * repository settings the CI roles' trust relies on (bootstrap/trust.ts, README "Set-up from zero"):
 *
 * - the OIDC subject template is the customized `{"use_default": false, "include_claim_keys":
 *   ["repo", "context", "ref"]}` (GitHub Docs, "OpenID Connect reference", "Customizing the
 *   subject claims"; `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`): with any other,
 *   no role admits any job;
 * - the repository's name as GitHub spells it (`full_name`) is the bootstrap's githubRepository
 *   exactly: IAM compares the `sub` case-sensitively;
 * - each stack's environment and `drift` exist, deploy from `main` only (a custom deployment
 *   branch policy with the one branch `main`: `GET .../environments/{name}` and
 *   `.../deployment-branch-policies`), and every prod stack's environment has required reviewers.
 *
 * The repository is --repo, else $GITHUB_REPOSITORY (set in every Actions job). The token is
 * $GITHUB_TOKEN, else $GH_TOKEN (`GH_TOKEN=$(gh auth token) npm run -s ci-check -- --repo o/r`);
 * reading these needs read access to the repository ("Actions: read" for a fine-grained token or
 * a job's GITHUB_TOKEN). $GITHUB_API_URL picks another API (GitHub Enterprise; the tests' fake).
 * Exit codes: 0 every setting as required; 1 a setting is missing or wrong (each one printed);
 * 2 bad arguments, no token, or the API refused or failed.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { DRIFT_ENVIRONMENT } from "../bootstrap/naming";
import { SUBJECT_CLAIM_KEYS } from "../bootstrap/trust";
import { runCli } from "./cli";
import { listStacks, stackMatrix } from "./stacks";

const PROJECT_DIR = path.resolve(__dirname, "..");
const USAGE = "usage: npm run -s ci-check [-- --repo <owner>/<repo>]   (token: $GITHUB_TOKEN or $GH_TOKEN)";
const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** An API answer other than 200 or 404: the check cannot be made. */
export class ApiError extends Error {}

export interface Finding {
    ok: boolean;
    what: string;
}

type Get = (apiPath: string) => Promise<any | undefined>;

/** GET against the API: the JSON body, undefined for 404, an ApiError for anything else. */
export function githubGet(apiUrl: string, token: string): Get {
    return async (apiPath) => {
        let res: Response;
        try {
            res = await fetch(`${apiUrl.replace(/\/$/, "")}${apiPath}`, {
                headers: { Accept: "application/vnd.github+json", Authorization: `Bearer ${token}`, "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "platform-ci-check" },
            });
        } catch (err) {
            throw new ApiError(`GET ${apiPath}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ""}`);
        }
        if (res.status === 404) return undefined;
        if (res.status !== 200) {
            const body = await res.text().catch(() => "");
            const hint = res.status === 401 ? ": the token is missing, expired or wrong" : res.status === 403 ? ": the token may not read this (it needs read access to the repository, \"Actions: read\" for a fine-grained token)" : "";
            throw new ApiError(`GET ${apiPath}: HTTP ${res.status}${hint}${body ? ` (${body.slice(0, 200)})` : ""}`);
        }
        return res.json();
    };
}

/** The githubRepository of every bootstrap stack file (bootstrap/Pulumi.<account>.yaml). */
export function bootstrapRepositories(projectDir: string = PROJECT_DIR): Array<{ file: string; repository: string }> {
    const dir = path.join(projectDir, "bootstrap");
    return fs
        .readdirSync(dir)
        .filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f) && f !== "Pulumi.yaml")
        .map((f) => ({ file: `bootstrap/${f}`, repository: (parse(fs.readFileSync(path.join(dir, f), "utf8")) as { config?: Record<string, unknown> })?.config?.["platform-bootstrap:githubRepository"] }))
        .filter((e): e is { file: string; repository: string } => typeof e.repository === "string");
}

export interface CheckInput {
    repo: string;
    get: Get;
    /** Every stack's environment. */
    environments: string[];
    /** The environments that need required reviewers. */
    prodEnvironments: string[];
    bootstrap: Array<{ file: string; repository: string }>;
}

/** Every finding, in a stable order: the template, the name's case, then each environment. */
export async function checkSettings(input: CheckInput): Promise<Finding[]> {
    const { repo, get } = input;
    const out: Finding[] = [];
    const repository = await get(`/repos/${repo}`);
    if (!repository) throw new ApiError(`GET /repos/${repo}: HTTP 404: no such repository, or the token may not see it`);

    const template = await get(`/repos/${repo}/actions/oidc/customization/sub`);
    const keys = template?.include_claim_keys;
    const wanted = [...SUBJECT_CLAIM_KEYS];
    const good = template?.use_default === false && Array.isArray(keys) && keys.length === wanted.length && keys.every((k: string, i: number) => k === wanted[i]);
    out.push({
        ok: good,
        what: good
            ? `OIDC subject template: ${wanted.join(", ")}`
            : `OIDC subject template is ${template?.use_default ? "GitHub's default" : JSON.stringify(keys ?? null)}, not ${JSON.stringify(wanted)}: no CI role admits any job until it is set (README "Set-up from zero", step 1)`,
    });

    const fullName = String(repository.full_name ?? repo);
    for (const b of input.bootstrap.filter((x) => x.repository.toLowerCase() === fullName.toLowerCase())) {
        const same = b.repository === fullName;
        out.push({
            ok: same,
            what: same
                ? `${b.file}: githubRepository ${b.repository} is spelled as GitHub spells it`
                : `${b.file}: githubRepository ${b.repository} is not ${fullName} as GitHub spells it: IAM compares the OIDC subject case-sensitively, so no role admits this repository's jobs`,
        });
    }

    for (const name of input.environments) {
        const env = await get(`/repos/${repo}/environments/${encodeURIComponent(name)}`);
        if (!env) {
            out.push({ ok: false, what: `environment ${name} does not exist: create it with deployment branches "main" only${input.prodEnvironments.includes(name) ? " and required reviewers" : ""}` });
            continue;
        }
        const policy = env.deployment_branch_policy;
        let branches: string | undefined;
        if (!policy) branches = "any branch";
        else if (policy.protected_branches) branches = "any protected branch";
        else if (policy.custom_branch_policies) {
            const list = await get(`/repos/${repo}/environments/${encodeURIComponent(name)}/deployment-branch-policies?per_page=100`);
            const rules = ((list?.branch_policies ?? []) as Array<{ name: string; type?: string }>).map((p) => `${p.type ?? "branch"}:${p.name}`);
            branches = rules.length === 1 && rules[0] === "branch:main" ? undefined : rules.length === 0 ? "no branch" : rules.join(", ");
        }
        out.push({
            ok: branches === undefined,
            what: branches === undefined ? `environment ${name}: deployments from main only` : `environment ${name} deploys from ${branches}: set Deployment branches to the one branch main`,
        });
        if (input.prodEnvironments.includes(name)) {
            const rule = ((env.protection_rules ?? []) as Array<{ type: string; reviewers?: unknown[] }>).find((r) => r.type === "required_reviewers");
            const count = rule?.reviewers?.length ?? 0;
            out.push({ ok: count > 0, what: count > 0 ? `environment ${name}: ${count} required reviewer${count === 1 ? "" : "s"}` : `environment ${name} has no required reviewers: a prod stack deploys only after a reviewer approves` });
        }
    }
    return out;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
    let repo = env.GITHUB_REPOSITORY;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--repo" && argv[i + 1] !== undefined) repo = argv[++i];
        else {
            process.stderr.write(`unknown argument ${argv[i]}\n${USAGE}\n`);
            return 2;
        }
    }
    if (!repo || !REPO.test(repo)) {
        process.stderr.write(`ci-check: ${repo ? `${repo} is not <owner>/<repo>` : "no repository: pass --repo <owner>/<repo> (or set $GITHUB_REPOSITORY)"}\n${USAGE}\n`);
        return 2;
    }
    const token = env.GITHUB_TOKEN || env.GH_TOKEN;
    if (!token) {
        process.stderr.write(`ci-check: no token: set $GITHUB_TOKEN or $GH_TOKEN (e.g. GH_TOKEN=$(gh auth token)); reading the settings needs read access to ${repo}\n`);
        return 2;
    }
    let findings: Finding[];
    try {
        const matrix = stackMatrix(listStacks());
        findings = await checkSettings({
            repo,
            get: githubGet(env.GITHUB_API_URL || "https://api.github.com", token),
            environments: [...matrix.all, DRIFT_ENVIRONMENT],
            prodEnvironments: matrix.prod,
            bootstrap: bootstrapRepositories(),
        });
    } catch (err) {
        process.stderr.write(`ci-check: ${(err as Error).message}\n`);
        return 2;
    }
    const failed = findings.filter((f) => !f.ok);
    process.stdout.write(`ci-check: ${repo}\n${findings.map((f) => `  ${f.ok ? "ok  " : "FAIL"}  ${f.what}\n`).join("")}`);
    if (failed.length > 0) {
        process.stderr.write(`ci-check: ${failed.length} setting${failed.length === 1 ? "" : "s"} the CI roles' trust relies on ${failed.length === 1 ? "is" : "are"} missing or wrong:\n${failed.map((f) => `  - ${f.what}\n`).join("")}`);
        return 1;
    }
    return 0;
}

if (require.main === module) {
    runCli("ci-check", (argv) => main(argv), 2, { exitWhenDone: true });
}
