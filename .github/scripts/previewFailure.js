// Run by actions/github-script when a pull request's `pulumi preview` fails: edits the preview's
// own comment (or writes one) to say that it failed and why, so a reviewer never reads the last
// successful plan as current. pulumi/actions@v6 comments only after the command succeeds
// (src/main.ts: the comment follows `await actions[command]()`, and a throw skips it).
//
// The comment keeps the heading and <summary> that pulumi/actions looks for when it edits
// (src/libs/pr.ts: `body.startsWith(heading) && body.includes(summary)`), so the next successful
// preview replaces this text instead of adding a second comment. "Why" is the job's failure
// annotations (what `core.setFailed` and `::error::` recorded: the Pulumi error, or the OIDC
// refusal), read from the job's check run; the job's log is linked.
"use strict";

/** GitHub refuses comments over 65,536 characters. */
const MAX_COMMENT = 65_000;
const SUMMARY = "<summary>Pulumi report</summary>";

/** The heading pulumi/actions v6 writes for `command` on `project/stack`. */
function pulumiHeading(command, project, stack) {
    return `#### :tropical_drink: \`${command}\` on ${project}/${stack}`;
}

/** The failure annotations of this run's job `<job> (<stack>)`, and its log URL. */
async function failureDetails(github, context, jobName) {
    const { owner, repo } = context.repo;
    const jobs = await github.paginate(github.rest.actions.listJobsForWorkflowRunAttempt, {
        owner,
        repo,
        run_id: context.runId,
        attempt_number: context.runAttempt ?? 1,
    });
    // The running job is this one; a finished job of the same name belongs to an earlier attempt.
    const job = jobs.find((j) => j.name === jobName && j.status === "in_progress") ?? jobs.find((j) => j.name === jobName);
    if (!job) return { messages: [], logUrl: `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}` };
    const annotations = await github.paginate(github.rest.checks.listAnnotations, { owner, repo, check_run_id: job.id });
    const messages = annotations.filter((a) => a.annotation_level === "failure").map((a) => String(a.message ?? "").trim()).filter(Boolean);
    return { messages: [...new Set(messages)], logUrl: job.html_url ?? `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}/job/${job.id}` };
}

/** What to tell the reader besides the error itself, for the failures that have a known cause. */
function hints(messages, stack) {
    const text = messages.join("\n");
    const out = [];
    if (/no stack named|stack .* not found|could not find stack/i.test(text)) {
        out.push(`The stack \`${stack}\` is not in the backend yet: the first deploy from main creates it (\`upsert\`). Until then the offline plan and policy checks are all this pull request gets for it.`);
    }
    if (/AssumeRoleWithWebIdentity|Could not assume role|Not authorized to perform sts/i.test(text)) {
        out.push("AWS refused the preview role: check the repository secret AWS_PREVIEW_ROLE_ARN and that the bootstrap's preview role trusts this repository's pull requests (README \"CI/CD\").");
    }
    if (/AccessDenied|not authorized to perform/i.test(text) && !/AssumeRoleWithWebIdentity/i.test(text)) {
        out.push("The preview role is read-only on purpose: a program that now reads a new kind of resource needs the bootstrap re-applied (`npm run ci-permissions -- --write`, then `pulumi up` in bootstrap/).");
    }
    return out;
}

/** The comment's text: the same heading and summary as pulumi/actions' own, saying it failed. */
function failureBody({ heading, stack, messages, logUrl }) {
    const fence = "```";
    const errors = messages.length > 0 ? messages.join("\n\n") : "(no error annotation was recorded: see the log)";
    const parts = [
        heading,
        "",
        `**:x: The preview of \`${stack}\` failed** on this commit, so there is no current plan: whatever this comment said before no longer holds.`,
        "",
        "Why:",
        "",
        fence,
        errors.length > MAX_COMMENT / 2 ? `${errors.slice(0, MAX_COMMENT / 2)}\n... (cut: see the log)` : errors,
        fence,
        ...hints(messages, stack).flatMap((h) => ["", h]),
        "",
        `[The job's log](${logUrl})`,
        "",
        "<details>",
        SUMMARY,
        "",
        "No report: the preview did not finish.",
        "</details>",
    ];
    return parts.join("\n").slice(0, MAX_COMMENT);
}

/**
 * Edits (or creates) the pull request comment of `stack`'s preview to say it failed and why.
 * `job` is the workflow's job id (`preview`); GitHub names a matrix job `<job> (<stack>)`.
 */
async function reportPreviewFailure({ github, context, core }, { stack, project, job }) {
    // The settings step may be what failed: the project's name is the first `name:` of Pulumi.yaml.
    if (!project) project = /^name:\s*["']?([^"'\s#]+)/m.exec(require("fs").readFileSync("Pulumi.yaml", "utf8"))?.[1] ?? "";
    const { owner, repo } = context.repo;
    const issue_number = context.payload.pull_request.number;
    let details;
    try {
        details = await failureDetails(github, context, `${job} (${stack})`);
    } catch (err) {
        // Without actions/checks read access the comment still says that the preview failed.
        core.warning(`could not read this job's errors: ${err.message}`);
        details = { messages: [], logUrl: `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}` };
    }
    const heading = pulumiHeading("preview", project, stack);
    const body = failureBody({ heading, stack, ...details });
    const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number });
    const mine = comments.find((c) => typeof c.body === "string" && c.body.startsWith(heading) && c.body.includes(SUMMARY));
    if (mine) await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
    else await github.rest.issues.createComment({ owner, repo, issue_number, body });
    return body;
}

module.exports = { reportPreviewFailure, failureBody, pulumiHeading, SUMMARY, MAX_COMMENT };
