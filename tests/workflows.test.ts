/**
 * The GitHub Actions workflows in .github/workflows: actionlint-clean, only real npm scripts,
 * least-privilege permissions, and deploys that never overlap on one stack.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { PROJECT_DIR } from "../tools/offline";

// The actionlint npm package: actionlint (Go) compiled to wasm, run in-process.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { createLinter } = require("actionlint") as typeof import("actionlint");

const WORKFLOWS = path.join(PROJECT_DIR, ".github", "workflows");
const files = fs.existsSync(WORKFLOWS) ? fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
const workflows: Record<string, any> = Object.fromEntries(files.map((f) => [f, parse(fs.readFileSync(path.join(WORKFLOWS, f), "utf8"))]));

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; "working-directory"?: string; [k: string]: unknown };
function allSteps(): Array<{ file: string; job: string; jobDef: any; step: Step }> {
    const out: Array<{ file: string; job: string; jobDef: any; step: Step }> = [];
    for (const [file, wf] of Object.entries(workflows)) {
        for (const [job, jobDef] of Object.entries<any>(wf.jobs ?? {})) for (const step of jobDef.steps ?? []) out.push({ file, job, jobDef, step });
    }
    return out;
}

function scriptsOf(dir: string): Record<string, string> {
    return JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, dir, "package.json"), "utf8")).scripts ?? {};
}

/** npm commands that are npm's own, not package scripts. */
const NPM_BUILTINS = new Set(["ci", "install", "i"]);
/** npm's shorthands that run a package script of the same name. */
const NPM_SCRIPT_SHORTHANDS = new Set(["test", "start", "stop", "restart"]);

/** Every `npm ...` invocation in a shell script, as [subcommand, script?]. */
export function npmInvocations(script: string): Array<{ command: string; script?: string }> {
    const out: Array<{ command: string; script?: string }> = [];
    for (const m of script.matchAll(/(?:^|[\s;&|(])npm\s+((?:-{1,2}[\w-]+\s+)*)([\w:-]+)(?:\s+((?:-{1,2}[\w-]+\s+)*)([\w:.-]+))?/g)) {
        const command = m[2];
        if (command === "run" || command === "run-script") out.push({ command, script: m[4] });
        else out.push({ command });
    }
    return out;
}

/** The package a step's npm runs in: the checkout root (also under base/ and head/) or policies/. */
function packageDirOf(step: Step): string {
    const wd = (step["working-directory"] ?? "").replace(/^\.\/?/, "");
    return wd.split("/").includes("policies") ? "policies" : ".";
}

describe("GitHub Actions workflows", () => {
    it("exist: pull requests, deploys and the drift check", () => {
        assert.deepEqual(files, ["deploy.yml", "drift.yml", "pull-request.yml"]);
    });

    it("pass actionlint with no errors (and the linter does catch a broken workflow)", async function () {
        this.timeout(120_000);
        // A fresh wasm instance per file: the TinyGo build can trap ("unreachable") when one
        // instance is reused after a run that reported errors.
        const broken = (await createLinter())("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n", "broken.yml");
        assert.ok(broken.length > 0, "actionlint reports an undefined matrix property");
        for (const file of files) {
            const results = (await createLinter())(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"), `.github/workflows/${file}`);
            assert.deepEqual(results.map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`), [], file);
        }
    });

    it("run only npm scripts that exist in the package.json they run in", () => {
        const seen: string[] = [];
        for (const { file, job, step } of allSteps()) {
            if (typeof step.run !== "string") continue;
            const dir = packageDirOf(step);
            const scripts = scriptsOf(dir);
            for (const { command, script } of npmInvocations(step.run)) {
                const where = `${file} job ${job}: npm ${command}${script ? ` ${script}` : ""} (in ${dir})`;
                seen.push(`npm ${command}${script ? ` ${script}` : ""}`);
                if (NPM_BUILTINS.has(command)) continue;
                const name = command === "run" || command === "run-script" ? script : command;
                assert.ok(name && (command.startsWith("run") || NPM_SCRIPT_SHORTHANDS.has(command)), `${where}: not an npm command the workflows may use`);
                assert.ok(name in scripts, `${where}: package.json has no "${name}" script`);
            }
        }
        // The parser found what the workflows are built on (so the check above is not vacuous).
        for (const expected of ["npm ci", "npm run plan"]) assert.ok(seen.includes(expected), `no ${expected} found in ${seen}`);
        assert.deepEqual(npmInvocations("npm run --silent plan -- --stack dev && npm test; CI=true npm run test:unit"), [
            { command: "run", script: "plan" }, { command: "test" }, { command: "run", script: "test:unit" },
        ]);
        // The test job runs .ci/run, which runs npm ci and npm test.
        const ci = fs.readFileSync(path.join(PROJECT_DIR, ".ci", "run"), "utf8");
        assert.deepEqual(npmInvocations(ci).map((i) => i.command), ["ci", "test"]);
        assert.ok("test" in scriptsOf("."));
    });

    it("declare read-only permissions at the top and grant writes per job, never write-all", () => {
        for (const [file, wf] of Object.entries(workflows)) {
            assert.deepEqual(wf.permissions, { contents: "read" }, `${file}: top-level permissions must be exactly contents: read`);
            for (const [job, def] of Object.entries<any>(wf.jobs)) {
                const perms = def.permissions ?? wf.permissions;
                assert.equal(typeof perms, "object", `${file} ${job}: permissions must be a map, not ${JSON.stringify(perms)}`);
                for (const [scope, level] of Object.entries(perms)) {
                    assert.ok(["read", "write", "none"].includes(level as string), `${file} ${job}: ${scope}: ${level}`);
                    if (level === "write") assert.ok(["id-token", "pull-requests"].includes(scope), `${file} ${job}: no ${scope}: write`);
                }
                const usesAws = (def.steps ?? []).some((s: Step) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
                assert.equal(perms["id-token"] === "write", usesAws, `${file} ${job}: id-token: write exactly where OIDC is used`);
                const comments = (def.steps ?? []).some((s: Step) => s.with?.["comment-on-pr"] === true || s.uses?.startsWith("actions/github-script@"));
                assert.equal(perms["pull-requests"] === "write", comments, `${file} ${job}: pull-requests: write exactly where a PR comment is posted`);
            }
        }
        assert.doesNotMatch(files.map((f) => fs.readFileSync(path.join(WORKFLOWS, f), "utf8")).join("\n"), /write-all|pull_request_target/);
    });

    it("take their stacks from the Pulumi.<stack>.yaml files (npm run -s stacks), never from a list of their own", () => {
        for (const [file, wf] of Object.entries(workflows)) {
            const stacks = wf.jobs.stacks;
            assert.ok(stacks, `${file}: a stacks job`);
            assert.deepEqual(stacks.steps.map((s: Step) => s.run).filter(Boolean), ["npm ci --no-audit --no-fund", "npm run -s stacks -- --github-output"], file);
            assert.deepEqual(stacks.outputs, { all: "${{ steps.list.outputs.all }}", nonprod: "${{ steps.list.outputs.nonprod }}", prod: "${{ steps.list.outputs.prod }}" }, file);
            for (const [job, def] of Object.entries<any>(wf.jobs)) {
                const matrix = def.strategy?.matrix?.stack;
                if (matrix === undefined) continue;
                assert.match(String(matrix), /^\$\{\{ fromJSON\(needs\.stacks\.outputs\.(all|nonprod|prod)\) \}\}$/, `${file} ${job}: matrix from the stacks job`);
                assert.ok([def.needs].flat().includes("stacks"), `${file} ${job}: needs stacks`);
            }
        }
        const text = files.map((f) => fs.readFileSync(path.join(WORKFLOWS, f), "utf8")).join("\n");
        assert.doesNotMatch(text, /\[\s*dev\s*,\s*prod\s*\]|stack-name: (dev|prod)\b|Pulumi\.(dev|prod)\.yaml/, "no stack named in a workflow");
    });

    it("deploy with `pulumi up`: the non-prod stacks, then the prod ones, each in its stack's environment, one deploy per stack at a time", () => {
        const deploy = workflows["deploy.yml"];
        assert.deepEqual(deploy.on.push, { branches: ["main"] });
        const ups = allSteps().filter(({ step }) => step.uses?.startsWith("pulumi/actions@") && step.with?.command === "up");
        assert.deepEqual(ups.map(({ file, job, jobDef, step }) => [file, job, jobDef.strategy.matrix.stack, step.with!["stack-name"], step.with!.policyPacks]), [
            ["deploy.yml", "nonprod", "${{ fromJSON(needs.stacks.outputs.nonprod) }}", "${{ matrix.stack }}", "policies"],
            ["deploy.yml", "prod", "${{ fromJSON(needs.stacks.outputs.prod) }}", "${{ matrix.stack }}", "policies"],
        ]);
        for (const { job, jobDef } of ups) {
            assert.deepEqual(jobDef.concurrency, { group: "deploy-${{ matrix.stack }}", "cancel-in-progress": false }, `${job}: concurrency`);
            assert.equal(jobDef.strategy["fail-fast"], false, `${job}: one stack's failure does not cancel another's up`);
            assert.ok(jobDef.steps.some((s: Step) => s.run === 'npm run plan -- --stack "${{ matrix.stack }}"'), `${job}: the offline policy check first`);
        }
        assert.deepEqual(deploy.jobs.prod.needs, ["stacks", "nonprod"]);
        // Every deploy job runs in its stack's own environment (dev included): its role, its reviewers.
        for (const job of ["nonprod", "prod"]) assert.equal(deploy.jobs[job].environment, "${{ matrix.stack }}", job);
        // Prod runs after the others succeeded, or when there are none (an empty matrix is an error, so that job is skipped).
        assert.equal(deploy.jobs.nonprod.if, "needs.stacks.outputs.nonprod != '[]'");
        assert.equal(deploy.jobs.prod.if, "${{ !cancelled() && needs.stacks.outputs.prod != '[]' && needs.stacks.result == 'success' && (needs.nonprod.result == 'success' || needs.nonprod.result == 'skipped') }}");
        // The drift check has a group of its own: GitHub cancels a pending job of a group when another
        // queues, so sharing the deploys' group could drop a deploy.
        assert.deepEqual(workflows["drift.yml"].jobs.drift.concurrency, { group: "drift-${{ matrix.stack }}", "cancel-in-progress": false });
    });

    it("preview same-repository pull requests for real, and forks and bots offline", () => {
        const pr = workflows["pull-request.yml"];
        const cond = "github.event.pull_request.head.repo.full_name == github.repository && github.actor != 'dependabot[bot]'";
        assert.equal(pr.jobs.preview.if, cond);
        assert.equal(pr.jobs["offline-preview"].if, "github.event.pull_request.head.repo.full_name != github.repository || github.actor == 'dependabot[bot]'", "the exact negation");
        const preview = pr.jobs.preview.steps.find((s: Step) => s.uses?.startsWith("pulumi/actions@"));
        assert.deepEqual(
            { command: preview.with.command, stack: preview.with["stack-name"], comment: preview.with["comment-on-pr"], edit: preview.with["edit-pr-comment"], packs: preview.with.policyPacks },
            { command: "preview", stack: "${{ matrix.stack }}", comment: true, edit: true, packs: "policies" },
        );
        for (const job of ["preview", "offline-preview", "policy"]) assert.equal(pr.jobs[job].strategy.matrix.stack, "${{ fromJSON(needs.stacks.outputs.all) }}", job);
        assert.equal(workflows["drift.yml"].jobs.drift.strategy.matrix.stack, "${{ fromJSON(needs.stacks.outputs.all) }}");
        const offline = pr.jobs["offline-preview"].steps.map((s: Step) => s.run ?? "").join("\n");
        assert.match(offline, /npm run plan -- --stack "\$\{\{ matrix\.stack \}\}" --out base\.json/);
        assert.match(offline, /npm run --silent plan -- --stack "\$\{\{ matrix\.stack \}\}" --diff \.\.\/base\/base\.json > diff\.md/);
        assert.match(offline, /cat diff\.md >> "\$GITHUB_STEP_SUMMARY"/);
        // A stack the pull request adds has no file in the base: it is diffed against an empty plan.
        assert.match(offline, /if \[ ! -f "Pulumi\.\$\{\{ matrix\.stack \}\}\.yaml" \]; then\n.*\n\s+echo '\{"project":"platform","stack":"\$\{\{ matrix\.stack \}\}","resources":\[\],"outputs":\{\},"violations":\[\]\}' > base\.json/);
        assert.match(pr.jobs.policy.steps.map((s: Step) => s.run ?? "").join("\n"), /npm run plan -- --stack "\$\{\{ matrix\.stack \}\}"/);
    });

    it("report a failed preview on the pull request, by editing the same comment (an if: failure() step after the preview)", () => {
        const steps = workflows["pull-request.yml"].jobs.preview.steps;
        const previewAt = steps.findIndex((s: Step) => s.uses?.startsWith("pulumi/actions@"));
        const report = steps.findIndex((s: Step) => s.if === "failure()" && s.uses?.startsWith("actions/github-script@"));
        assert.ok(report > previewAt && previewAt >= 0, "the report runs after the preview, only when a step failed");
        assert.match(String(steps[report].with.script), /require\("\.\/\.github\/scripts\/previewFailure\.js"\)/);
        assert.ok(fs.existsSync(path.join(PROJECT_DIR, ".github", "scripts", "previewFailure.js")));
    });

    it("pin every action to a full commit SHA with its version in a comment; a job holding credentials (id-token: write) uses nothing else", () => {
        // GitHub Docs, "Security hardening for GitHub Actions" > "Using third-party actions": "Pinning an
        // action to a full length commit SHA is currently the only way to use an action as an immutable
        // release"; a tag can be moved to other code, which then runs with the job's OIDC token.
        const PINNED = /^uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$/;
        const shaOf = new Map<string, string>();
        let lines = 0;
        for (const file of files) {
            for (const raw of fs.readFileSync(path.join(WORKFLOWS, file), "utf8").split("\n")) {
                const line = raw.trim().replace(/^- /, "");
                if (!line.startsWith("uses:")) continue;
                lines++;
                const m = PINNED.exec(line);
                assert.ok(m, `${file}: ${line} is not pinned as uses: owner/repo@<40-hex sha> # vX.Y.Z`);
                const [, action, sha, version] = m;
                const prior = shaOf.get(action);
                assert.ok(!prior || prior === `${sha} ${version}`, `${file}: ${action} pinned to ${sha} ${version} here and ${prior} elsewhere`);
                shaOf.set(action, `${sha} ${version}`);
            }
        }
        assert.ok(lines >= 30, `found ${lines} uses: lines`);
        // Every step of a job that can mint an OIDC token, read from the parsed YAML (what GitHub runs).
        let credentialed = 0;
        for (const { file, job, jobDef, step } of allSteps()) {
            if (jobDef.permissions?.["id-token"] !== "write" || !step.uses) continue;
            credentialed++;
            assert.match(step.uses, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${file} ${job}: ${step.uses} in a job with id-token: write`);
        }
        assert.ok(credentialed >= 10, `${credentialed} steps in credentialed jobs`);
        // The inputs below are those of these versions.
        assert.equal(shaOf.get("pulumi/actions")?.split(" ")[1].split(".")[0], "v6");
        assert.equal(shaOf.get("aws-actions/configure-aws-credentials")?.split(" ")[1].split(".")[0], "v4");
        assert.doesNotMatch("uses: pulumi/actions@v6", PINNED, "a tag is not a pin");
    });

    it("use only inputs pulumi/actions v6 and configure-aws-credentials v4 declare", () => {
        const PULUMI_INPUTS = new Set([
            "command", "stack-name", "work-dir", "comment-on-pr", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "color",
            "config-map", "diff", "parallel", "message", "expect-no-changes", "replace", "target", "target-dependents", "policyPacks",
            "policyPackConfigs", "refresh", "upsert", "edit-pr-comment", "pulumi-version", "pulumi-version-file", "exclude-protected",
            "always-include-summary", "suppress-outputs", "suppress-progress", "plan", "remove", "exclude", "exclude-dependents", "include-secrets",
            // also declared by pulumi/actions v6.6.1's action.yml
            "comment-on-pr-number", "continue-on-error", "log-verbosity", "log-flow", "debug",
        ]);
        for (const { file, job, step } of allSteps()) {
            if (!step.uses) continue;
            if (step.uses.startsWith("pulumi/actions@")) {
                for (const key of Object.keys(step.with ?? {})) assert.ok(PULUMI_INPUTS.has(key), `${file} ${job}: pulumi/actions has no input ${key}`);
            }
            if (step.uses.startsWith("aws-actions/configure-aws-credentials@")) {
                assert.ok(step.with?.["role-to-assume"] && step.with?.["aws-region"], `${file} ${job}: OIDC needs role-to-assume and aws-region`);
                assert.ok(!("aws-access-key-id" in (step.with ?? {})), `${file} ${job}: OIDC only, no access keys`);
            }
        }
    });
});
