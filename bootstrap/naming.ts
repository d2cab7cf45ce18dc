/**
 * The names the bootstrap gives what CI uses, and the GitHub side they must match: one place,
 * read by the bootstrap program, the workflows' settings step (tools/ciSettings.ts), the
 * generated policies and the tests. Changing a name here changes all of them together.
 */

/** IAM path of every CI role: deploy policies deny any change under it (a deploy role cannot edit itself or the others). */
export const CI_ROLE_PATH = "/ci/";

/** The GitHub environment of the daily drift check (its own subject, `repo:<o>/<r>:environment:drift`). */
export const DRIFT_ENVIRONMENT = "drift";

/** GitHub's OIDC issuer (host), the IAM identity provider's URL without `https://`. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** The audience aws-actions/configure-aws-credentials requests by default. */
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";

export type CiRolePurpose = "preview" | "drift" | "deploy";

/** `<project>-preview`, `<project>-drift`, `<project>-deploy-<stack>` (under CI_ROLE_PATH). */
export function ciRoleName(project: string, purpose: CiRolePurpose, stack?: string): string {
    if (purpose === "deploy") {
        if (!stack) throw new Error("a deploy role is per stack");
        return `${project}-deploy-${stack}`;
    }
    return `${project}-${purpose}`;
}

/** The KMS alias of a stack's secrets key: the `awskms://` secrets provider of that stack. */
export function secretsKeyAlias(project: string, stack: string): string {
    return `alias/${project}-${stack}-secrets`;
}

/** The secrets provider URL Pulumi takes for a stack whose secrets key is in `region`. */
export function awsKmsSecretsProvider(project: string, stack: string, region: string): string {
    return `awskms://${secretsKeyAlias(project, stack)}?region=${region}`;
}

/**
 * The object keys of one stack in a self-managed (S3) backend, project layout (`.pulumi/meta.yaml`
 * version 1). From pulumi/pulumi pkg/backend/diy: store.go (stacks/, history/, backups/, journal/
 * per project and stack), lock.go (locks/organization/<project>/<stack>/<id>.json), stack_tags.go
 * (`<stack>.pulumi-tags`), backend.go (the checkpoint, optionally .gz/.zst, and its `.bak` copy).
 */
export function stateKeys(project: string, stack: string): { files: string[]; prefixes: string[] } {
    const base = `.pulumi/stacks/${project}/${stack}`;
    const checkpoints = [".json", ".json.gz", ".json.zst"].flatMap((ext) => [`${base}${ext}`, `${base}${ext}.bak`]);
    return {
        files: [...checkpoints, `${base}.pulumi-tags`],
        prefixes: [
            `.pulumi/history/${project}/${stack}/`,
            `.pulumi/backups/${project}/${stack}/`,
            `.pulumi/journal/${project}/${stack}/`,
            `.pulumi/locks/organization/${project}/${stack}/`,
        ],
    };
}

/** The backend's metadata file: written by the bootstrap (version 1, project layout) so that no CI run has to. */
export const STATE_META_KEY = ".pulumi/meta.yaml";

/**
 * The state bucket's name: fixed, so the deploy policies can name it exactly and no auto-named
 * bucket of a stack (`<logical>-<hex>`) can match it (cf. cdk bootstrap's `cdk-<q>-assets-<account>-<region>`).
 */
export function stateBucketName(project: string, account: string, region: string): string {
    return `${project}-pulumi-state-${account}-${region}`;
}
