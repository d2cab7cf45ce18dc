/**
 * Who may assume each CI role: GitHub's OIDC token, for one exact subject.
 *
 * GitHub writes the token's `sub` from the job (GitHub Docs, "About security hardening with
 * OpenID Connect", "Example subject claims"): a job that names an environment gets
 * `repo:<owner>/<repo>:environment:<name>` whatever its trigger; otherwise a `pull_request`
 * run gets `repo:<owner>/<repo>:pull_request`, and a push, schedule or manual run gets
 * `repo:<owner>/<repo>:ref:<ref>` (`refs/heads/main` for the scheduled drift check on main).
 * The drift check runs in its own `drift` environment rather than on the `ref:` subject:
 * every job of every workflow on main would carry that subject, while only a job that names
 * the environment (allowed from main only, README) carries `environment:drift`.
 *
 * Each trust policy matches with StringEquals, not StringLike: no wildcard can admit a subject
 * that was not meant (IAM User Guide, "Creating a role for web identity or OpenID Connect
 * Federation": the `sub` condition for GitHub).
 */
import { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST } from "./naming";

export type JobIdentity = { kind: "pull_request" } | { kind: "environment"; name: string } | { kind: "ref"; ref: string };

/** The `sub` claim of a job's token. */
export function githubSubject(repository: string, identity: JobIdentity): string {
    switch (identity.kind) {
        case "pull_request":
            return `repo:${repository}:pull_request`;
        case "environment":
            return `repo:${repository}:environment:${identity.name}`;
        case "ref":
            return `repo:${repository}:ref:${identity.ref}`;
    }
}

/** The trust policy of a role that only `subject`'s token may assume, with the audience configure-aws-credentials asks for. */
export function githubTrustPolicy(providerArn: string, subject: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "GitHubActionsOnly",
                Effect: "Allow",
                Principal: { Federated: providerArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringEquals: {
                        [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
                        [`${GITHUB_OIDC_HOST}:sub`]: subject,
                    },
                },
            },
        ],
    };
}
