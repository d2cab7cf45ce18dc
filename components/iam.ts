import * as pulumi from "@pulumi/pulumi";

/**
 * The trust policy of a role that one AWS service assumes. With `sourceAccount`, the service
 * may assume it only on behalf of that account (confused-deputy protection); `sourceArn`
 * narrows it further to the resources (an ARN pattern) acting for it.
 */
export function serviceTrustPolicy(
    service: string,
    scope: { sourceAccount?: pulumi.Input<string>; sourceArn?: pulumi.Input<string> } = {},
): pulumi.Output<string> {
    const condition: Record<string, unknown> = {};
    if (scope.sourceAccount !== undefined) condition.StringEquals = { "aws:SourceAccount": scope.sourceAccount };
    if (scope.sourceArn !== undefined) condition.ArnLike = { "aws:SourceArn": scope.sourceArn };
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: service },
                Action: "sts:AssumeRole",
                ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
            },
        ],
    });
}
