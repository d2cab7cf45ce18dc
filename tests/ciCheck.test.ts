/**
 * `npm run -s ci-check`: the GitHub settings the CI roles' trust relies on, read through the REST
 * API, here from a fake GitHub API on loopback that answers as GitHub documents it (REST API
 * "Actions OIDC": GET /repos/{owner}/{repo}/actions/oidc/customization/sub -> {use_default,
 * include_claim_keys}; "Deployment environments": GET .../environments/{name} -> {protection_rules,
 * deployment_branch_policy}, 404 when missing; "Deployment branch policies": GET
 * .../environments/{name}/deployment-branch-policies -> {total_count, branch_policies: [{name, type}]}).
 * Run as the real command, as a user's shell and the deploy workflow run it.
 */
import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { checkSettings } from "../tools/ciCheck";
import { listStacks, stackMatrix } from "../tools/stacks";
import { assertCleanFailure, cleanEnv, runScript } from "./support/processes";

interface Environment {
    reviewers?: number;
    branchPolicy?: "main" | "protected" | "none" | string[];
}

interface FakeState {
    fullName: string;
    template: { use_default: boolean; include_claim_keys?: string[] };
    environments: Record<string, Environment>;
    status?: number;
}

const GOOD_TEMPLATE = { use_default: false, include_claim_keys: ["repo", "context", "ref"] };
const matrix = stackMatrix(listStacks());
const good = (): FakeState => ({
    fullName: "acme/platform",
    template: GOOD_TEMPLATE,
    environments: Object.fromEntries([...matrix.all, "drift"].map((e) => [e, { branchPolicy: "main", reviewers: matrix.prod.includes(e) ? 2 : 0 }])),
});

/** A fake of the four GitHub endpoints, answering from `state` (changed by each test). */
function fakeGitHub(state: { current: FakeState }): { server: http.Server; requests: Array<{ url: string; auth?: string }> } {
    const requests: Array<{ url: string; auth?: string }> = [];
    const server = http.createServer((req, res) => {
        requests.push({ url: req.url!, auth: req.headers.authorization });
        const send = (status: number, body: unknown) => {
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(body));
        };
        const s = state.current;
        if (s.status) return send(s.status, { message: "Bad credentials" });
        const url = new URL(req.url!, "http://x");
        let m: RegExpExecArray | null;
        if (url.pathname === "/repos/acme/platform") return send(200, { full_name: s.fullName });
        if (url.pathname === "/repos/acme/platform/actions/oidc/customization/sub") return send(200, s.template);
        if ((m = /^\/repos\/acme\/platform\/environments\/([^/]+)(\/deployment-branch-policies)?$/.exec(url.pathname))) {
            const env = s.environments[decodeURIComponent(m[1])];
            if (!env) return send(404, { message: "Not Found" });
            const names = env.branchPolicy === "main" ? ["main"] : Array.isArray(env.branchPolicy) ? env.branchPolicy : [];
            if (m[2]) return send(200, { total_count: names.length, branch_policies: names.map((name, i) => ({ id: i + 1, name, type: "branch" })) });
            const rules = [...(env.reviewers ? [{ id: 1, type: "required_reviewers", prevent_self_review: true, reviewers: Array.from({ length: env.reviewers }, (_, i) => ({ type: "User", reviewer: { login: `r${i}` } })) }] : []), { id: 2, type: "branch_policy" }];
            const policy = env.branchPolicy === "none" ? null : env.branchPolicy === "protected" ? { protected_branches: true, custom_branch_policies: false } : { protected_branches: false, custom_branch_policies: true };
            return send(200, { id: 1, name: decodeURIComponent(m[1]), protection_rules: rules, deployment_branch_policy: policy });
        }
        send(404, { message: "Not Found" });
    });
    return { server, requests };
}

describe("npm run -s ci-check: the GitHub settings the CI roles' trust relies on", function () {
    this.timeout(60_000);
    const state = { current: good() };
    const fake = fakeGitHub(state);
    let api = "";
    before(async () => {
        await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
        api = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => fake.server.close(() => resolve())));
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runScript("ci-check", args, { env: cleanEnv({ GITHUB_API_URL: api, GITHUB_TOKEN: "t0ken", GITHUB_REPOSITORY: undefined, GH_TOKEN: undefined, ...env }) });

    it("exits 0 when the subject template, every environment's branch rule and prod's reviewers are as required, reading them with the token", async () => {
        state.current = good();
        fake.requests.length = 0;
        const r = await run(["--repo", "acme/platform"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /ok {4}OIDC subject template: repo, context, ref/);
        for (const e of [...matrix.all, "drift"]) assert.match(r.stdout, new RegExp(`ok {4}environment ${e}: deployments from main only`));
        for (const e of matrix.prod) assert.match(r.stdout, new RegExp(`ok {4}environment ${e}: 2 required reviewers`));
        assert.match(r.stdout, /bootstrap\/Pulumi\.acme-platform\.yaml: githubRepository acme\/platform is spelled as GitHub spells it/);
        assert.equal(r.stderr, "");
        assert.ok(fake.requests.length >= 3 + matrix.all.length && fake.requests.every((q) => q.auth === "Bearer t0ken"), "every request carries the token");
    });

    it("exits 1 naming each wrong setting: the default subject template, a missing environment, branch rules wider than main, prod without reviewers", async () => {
        const s = good();
        s.template = { use_default: true };
        delete s.environments.dev;
        s.environments.drift = { branchPolicy: "protected" };
        s.environments.prod = { branchPolicy: ["main", "release/*"], reviewers: 0 };
        state.current = s;
        const r = await run(["--repo", "acme/platform"]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /ci-check: 5 settings the CI roles' trust relies on are missing or wrong:/);
        assert.match(r.stderr, /OIDC subject template is GitHub's default, not \["repo","context","ref"\]: no CI role admits any job/);
        assert.match(r.stderr, /environment dev does not exist: create it with deployment branches "main" only/);
        assert.match(r.stderr, /environment drift deploys from any protected branch/);
        assert.match(r.stderr, /environment prod deploys from branch:main, branch:release\/\*/);
        assert.match(r.stderr, /environment prod has no required reviewers/);
        assert.match(r.stdout, /FAIL {2}environment dev does not exist/);
    });

    it("fails on a template with the claims in another order, an environment open to every branch, and a repository spelled in another case than the bootstrap's", async () => {
        const s = good();
        s.template = { use_default: false, include_claim_keys: ["repo", "ref", "context"] };
        s.environments.dev = { branchPolicy: "none" };
        s.fullName = "Acme/Platform";
        const found = await checkSettings({
            repo: "acme/platform",
            get: async (p) => {
                state.current = s;
                const res = await fetch(`${api}${p}`);
                return res.status === 404 ? undefined : res.json();
            },
            environments: ["dev", "prod"],
            prodEnvironments: ["prod"],
            bootstrap: [{ file: "bootstrap/Pulumi.acme.yaml", repository: "acme/platform" }],
        });
        const failed = found.filter((f) => !f.ok).map((f) => f.what);
        assert.equal(failed.length, 3, failed.join("\n"));
        assert.match(failed[0], /\["repo","ref","context"\], not \["repo","context","ref"\]/);
        assert.match(failed[1], /githubRepository acme\/platform is not Acme\/Platform as GitHub spells it: IAM compares the OIDC subject case-sensitively/);
        assert.match(failed[2], /environment dev deploys from any branch/);
    });

    it("exits 2 with one clear line without a token, for a bad repository, or when the API refuses the token", async () => {
        assert.match(assertCleanFailure(await run(["--repo", "acme/platform"], { GITHUB_TOKEN: undefined }), 2), /^ci-check: no token: set \$GITHUB_TOKEN or \$GH_TOKEN/);
        assert.match(assertCleanFailure(await run(["--repo", "not a repo"]), 2), /not a repo is not <owner>\/<repo>/);
        state.current = { ...good(), status: 401 };
        assert.match(assertCleanFailure(await run([], { GITHUB_REPOSITORY: "acme/platform" }), 2), /GET \/repos\/acme\/platform: HTTP 401: the token is missing, expired or wrong/);
    });
});
