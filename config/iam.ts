import { z } from "zod";
import { section } from "./types";

/**
 * IAM path and name of the permissions boundary the CI bootstrap creates for a stack
 * (bootstrap/boundary.ts): `arn:<partition>:iam::<account>:policy/ci/<project>-<stack>-boundary`.
 * The stack's deploy role may create and change roles only with that boundary on them, so a
 * stack deployed by CI must set it on every role it creates (`iam.permissionsBoundary: ci`).
 */
export const PERMISSIONS_BOUNDARY_PATH = "/ci/";

export function permissionsBoundaryPolicyName(project: string, stack: string): string {
    return `${project}-${stack}-boundary`;
}

export function ciPermissionsBoundaryArn(partition: string, account: string, project: string, stack: string): string {
    return `arn:${partition}:iam::${account}:policy${PERMISSIONS_BOUNDARY_PATH}${permissionsBoundaryPolicyName(project, stack)}`;
}

const POLICY_ARN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:policy\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,128}$/;

const iamSchema = z
    .object({
        /**
         * The permissions boundary (IAM User Guide, "Permissions boundaries for IAM entities") on
         * every role the stack creates: `ci`, the CI bootstrap's boundary for this stack (what the
         * stack's roles use, never IAM writes or another stack's resources; its deploy role may
         * create roles only with it); `none`; or the ARN of a customer managed policy.
         */
        permissionsBoundary: z.string().refine((v) => v === "ci" || v === "none" || POLICY_ARN.test(v), {
            message: 'must be "ci" (the CI bootstrap\'s boundary of this stack, policy/ci/<project>-<stack>-boundary), "none", or the ARN of an IAM managed policy such as arn:aws:iam::123456789012:policy/my-boundary',
        }),
    })
    .strict();

export const iamSection = section({
    key: "iam",
    schema: iamSchema,
    // None by default: the boundary policy exists only once the bootstrap has run; every stack
    // the workflows deploy sets `ci` (the bootstrap refuses a stack whose roles lack it).
    defaults: (): z.input<typeof iamSchema> => ({ permissionsBoundary: "none" }),
});

/** The boundary ARN for a stack's roles, or undefined for none. */
export function permissionsBoundaryArn(setting: string, context: { partition: string; account: string; project: string; stack: string }): string | undefined {
    if (setting === "none") return undefined;
    if (setting === "ci") return ciPermissionsBoundaryArn(context.partition, context.account, context.project, context.stack);
    return setting;
}
