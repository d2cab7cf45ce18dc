/**
 * Who may assume each CI role: GitHub's OIDC token, for one subject.
 *
 * The repository uses a customized subject template, `{"use_default": false, "include_claim_keys":
 * ["repo", "context", "ref"]}` (GitHub Docs, "OpenID Connect reference", "Customizing the subject
 * claims for an organization or repository"; set with `PUT /repos/{owner}/{repo}/actions/oidc/customization/sub`,
 * README "Set-up from zero", and checked by `npm run -s ci-check`). The `sub` is then each claim as
 * `<key>:<value>`, joined with `:`, where `context` is what follows the repository in the default
 * format ("when the job references an environment, the context contains: environment:ENVIRONMENT-NAME"):
 * - a job that names an environment: `repo:<owner>/<repo>:environment:<name>:ref:<ref>`;
 * - a pull_request job without one: `repo:<owner>/<repo>:pull_request:ref:refs/pull/<number>/merge`;
 * - any other job: `repo:<owner>/<repo>:ref:<ref>:ref:<ref>`.
 * Any `:` inside a claim's value is written `%3A` ("Example: Context value with `:`"), so an
 * environment named `dev:ref:refs/heads/main` cannot forge another subject.
 *
 * Why the ref: GitHub creates a missing environment, with no protection rules, when a job names
 * it, so between the bootstrap creating a role trusted from `environment:<stack>` and someone
 * configuring that environment, any branch's job could name it and get the role; and deployment
 * branch rules are settings nobody's IAM checks. With the ref in the subject, a deploy role trusts
 * only its environment *on main* (`StringEquals`, no wildcard): a branch's job that names the
 * environment gets `...environment:prod:ref:refs/heads/<branch>`, which no role trusts, whatever
 * the environment's settings are.
 *
 * The preview role is the one `StringLike`: its subject varies only in the pull request's number
 * (`refs/pull/<number>/merge`, the ref of a pull_request run), and the pattern keeps everything
 * else literal. `*` could match more than digits, but only under `refs/pull/`, a namespace only
 * GitHub writes (a branch is `refs/heads/...`, a tag `refs/tags/...`), and only with the
 * `pull_request` context, so no push, schedule or environment job matches it; and the role is
 * read-only.
 *
 * IAM compares the `sub` case-sensitively (StringEquals, and StringLike too): `repo:Acme/Platform`
 * and `repo:acme/platform` are different strings, so githubRepository must be spelled exactly as
 * GitHub spells the repository (its `full_name`); `npm run -s ci-check` compares the two. A wrong
 * case denies every job; it never admits another repository.
 */
import { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST } from "./naming";

/** The subject template the repository must use (in this order: the claims appear in it in this order). */
export const SUBJECT_CLAIM_KEYS = ["repo", "context", "ref"] as const;

/** The branch deploys and the drift check run from. */
export const MAIN_REF = "refs/heads/main";

export type JobIdentity =
    | { kind: "pull_request"; ref: string }
    | { kind: "environment"; name: string; ref: string }
    | { kind: "ref"; ref: string };

/** A claim value as GitHub writes it into the `sub`: `:` escaped. */
function claim(value: string): string {
    return value.replace(/:/g, "%3A");
}

/** The `sub` claim of a job's token under SUBJECT_CLAIM_KEYS. */
export function githubSubject(repository: string, identity: JobIdentity): string {
    const repo = `repo:${claim(repository)}`;
    const ref = `ref:${claim(identity.ref)}`;
    switch (identity.kind) {
        case "pull_request":
            return `${repo}:pull_request:${ref}`;
        case "environment":
            return `${repo}:environment:${claim(identity.name)}:${ref}`;
        case "ref":
            return `${repo}:${ref}:${ref}`;
    }
}

/** The subject pattern of every pull request's preview job (StringLike; see the file comment). */
export function pullRequestSubjectPattern(repository: string): string {
    return githubSubject(repository, { kind: "pull_request", ref: "refs/pull/*/merge" });
}

/** What a role's trust matches on the `sub`: exactly one subject, or the pull-request pattern. */
export type SubjectMatch = { equals: string } | { like: string };

/** The trust policy of a role that only `subject`'s tokens may assume, with the audience configure-aws-credentials asks for. */
export function githubTrustPolicy(providerArn: string, subject: SubjectMatch): Record<string, unknown> {
    const aud = { [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE };
    const sub = `${GITHUB_OIDC_HOST}:sub`;
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "GitHubActionsOnly",
                Effect: "Allow",
                Principal: { Federated: providerArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: "equals" in subject ? { StringEquals: { ...aud, [sub]: subject.equals } } : { StringEquals: aud, StringLike: { [sub]: subject.like } },
            },
        ],
    };
}
