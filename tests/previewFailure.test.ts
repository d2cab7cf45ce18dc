/**
 * The failed-preview report (.github/scripts/previewFailure.js), run as actions/github-script
 * runs it, against a fake GitHub API: it edits the comment pulumi/actions wrote for the stack
 * (same heading and summary, so the next success edits it again), or writes one, saying the
 * preview failed and why (the job's failure annotations).
 */
import { strict as assert } from "assert";
import * as path from "path";
import { PROJECT_DIR } from "../tools/offline";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const script = require(path.join(PROJECT_DIR, ".github", "scripts", "previewFailure.js"));

function fakeGithub(comments: Array<{ id: number; body: string }>, annotations: Array<{ annotation_level: string; message: string }>) {
    const calls: Array<{ method: string; args: any }> = [];
    const rest = {
        actions: { listJobsForWorkflowRunAttempt: "jobs" },
        checks: { listAnnotations: "annotations" },
        issues: {
            listComments: "comments",
            updateComment: async (args: any) => calls.push({ method: "update", args }),
            createComment: async (args: any) => calls.push({ method: "create", args }),
        },
    };
    const github = {
        rest,
        paginate: async (which: string, args: any) => {
            calls.push({ method: `list ${which}`, args });
            if (which === "jobs") return [{ id: 7, name: "preview (prod)", status: "completed" }, { id: 42, name: "preview (dev)", status: "in_progress", html_url: "https://github.com/acme/platform/actions/runs/1/job/42" }];
            if (which === "annotations") return args.check_run_id === 42 ? annotations : [];
            return comments;
        },
    };
    const context = { repo: { owner: "acme", repo: "platform" }, runId: 1, runAttempt: 1, serverUrl: "https://github.com", payload: { pull_request: { number: 5 } } };
    const core = { warning: (m: string) => calls.push({ method: "warning", args: m }) };
    return { github, context, core, calls };
}

describe("A failed preview's pull-request comment", () => {
    const heading = "#### :tropical_drink: `preview` on platform/dev";

    it("edits the stack's pulumi/actions comment to say the preview failed and why, keeping what pulumi/actions finds it by", async () => {
        const old = { id: 9, body: `${heading}\n\n<details>\n<summary>Pulumi report</summary>\n<pre>+ 3 to create</pre>\n</details>` };
        const other = { id: 10, body: "#### :tropical_drink: `preview` on platform/prod\n<summary>Pulumi report</summary>" };
        const f = fakeGithub([other, old], [{ annotation_level: "failure", message: "error: AccessDenied: not authorized to perform: ec2:DescribeVpcs" }, { annotation_level: "warning", message: "noise" }]);
        await script.reportPreviewFailure({ github: f.github, context: f.context, core: f.core }, { stack: "dev", project: "platform", job: "preview" });
        const update = f.calls.find((c) => c.method === "update")!;
        assert.equal(update.args.comment_id, 9, "the dev comment, not prod's");
        assert.ok(update.args.body.startsWith(heading) && update.args.body.includes("<summary>Pulumi report</summary>"), "pulumi/actions finds and edits it next time (src/libs/pr.ts)");
        assert.match(update.args.body, /The preview of `dev` failed/);
        assert.match(update.args.body, /not authorized to perform: ec2:DescribeVpcs/);
        assert.doesNotMatch(update.args.body, /noise|3 to create/, "only failures, and the old plan is gone");
        assert.match(update.args.body, /read-only on purpose/);
        assert.match(update.args.body, /\(https:\/\/github\.com\/acme\/platform\/actions\/runs\/1\/job\/42\)/);
        assert.ok(!f.calls.some((c) => c.method === "create"));
    });

    it("writes a new comment when there is none, naming a stack that is not in the backend yet", async () => {
        const f = fakeGithub([], [{ annotation_level: "failure", message: "error: no stack named 'dev' found" }]);
        const body = await script.reportPreviewFailure({ github: f.github, context: f.context, core: f.core }, { stack: "dev", project: "platform", job: "preview" });
        const create = f.calls.find((c) => c.method === "create")!;
        assert.equal(create.args.issue_number, 5);
        assert.equal(create.args.body, body);
        assert.match(body, /not in the backend yet: the first deploy from main creates it/);
    });

    it("still says it failed when the job's errors cannot be read, and stays under GitHub's comment limit", async () => {
        const f = fakeGithub([], []);
        f.github.paginate = (async (which: string, args: any) => {
            if (which === "jobs") throw new Error("Resource not accessible by integration");
            return [];
        }) as any;
        const body = await script.reportPreviewFailure({ github: f.github, context: f.context, core: f.core }, { stack: "dev", project: "platform", job: "preview" });
        assert.match(body, /failed/);
        assert.ok(f.calls.some((c) => c.method === "warning"));
        const long = script.failureBody({ heading, stack: "dev", messages: ["x".repeat(200_000)], logUrl: "u" });
        assert.ok(long.length <= 65_536 && long.length > 1000);
    });
});
