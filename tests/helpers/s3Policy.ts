/**
 * What Amazon S3 decides for a caller whose only permissions are one IAM identity policy in the
 * bucket owner's account (no bucket policy statement grants it anything, no SCP, no session
 * policy): the model the test S3 endpoint (tests/helpers/s3server.ts, `policy` option) enforces
 * in front of s3rver, so the backup scripts run against S3 as the instance role meets it.
 *
 * Rules encoded (AWS documentation):
 * - Policy evaluation: an explicit Deny wins, else any Allow, else implicit deny ("Policy
 *   evaluation logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
 *   A condition whose key is absent from the request fails, except for the negated operators
 *   ("Condition operators", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
 * - Which IAM action each S3 request needs ("Required permissions for Amazon S3 API operations",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
 *   GetObject and HeadObject need s3:GetObject; PutObject and the multipart upload steps
 *   s3:PutObject; AbortMultipartUpload s3:AbortMultipartUpload; ListParts
 *   s3:ListMultipartUploadParts; DeleteObject s3:DeleteObject; ListObjects(V2) and HeadBucket
 *   s3:ListBucket, with the request's `prefix` as the `s3:prefix` condition key; the
 *   `x-amz-server-side-encryption(-customer-algorithm)` headers of PutObject and
 *   CreateMultipartUpload as the condition keys of the same names ("Actions, resources, and
 *   condition keys for Amazon S3", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
 * - A bucket policy of the same account is modelled by appending its statements to the identity
 *   policy (same-account access: either may allow, an explicit Deny in either wins; Principal is
 *   not checked, so only statements for Principal "*" may be appended).
 * - A GetObject/HeadObject of a key that does not exist answers 404 NoSuchKey only when the caller
 *   has s3:ListBucket on the bucket; otherwise 403 AccessDenied (Amazon S3 API Reference,
 *   GetObject and HeadObject, "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). That request carries no
 *   `s3:prefix`, so a ListBucket grant limited by an `s3:prefix` condition does not count.
 *
 * Anything else (other operators, NotAction/NotResource, other S3 operations) throws: the model
 * refuses to guess rather than allow or deny silently.
 */
import type { PolicyDocument, PolicyStatement } from "../../components/bucket";

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

/** The authorization an S3 request needs: one action on one resource, with its condition keys. */
export interface S3Authorization {
    /** The API operation, for logs: GetObject, HeadObject, ListObjectsV2, ... */
    operation: string;
    action: string;
    resource: string;
    context: Record<string, string>;
}

/** Maps a path-style S3 request (`/bucket` or `/bucket/key`) to what it must be authorized for. */
export function s3Authorization(method: string, rawPath: string, query: URLSearchParams, headers: Record<string, string | string[] | undefined> = {}): S3Authorization {
    const path = rawPath.split("?")[0];
    const slash = path.indexOf("/", 1);
    const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
    const key = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));
    const bucketArn = `arn:aws:s3:::${bucket}`;
    const objectArn = `${bucketArn}/${key}`;
    const m = method.toUpperCase();
    const is = (operation: string, action: string, resource: string, context: Record<string, string> = {}): S3Authorization => ({ operation, action, resource, context });
    if (!bucket) throw new Error(`s3Policy: no bucket in ${method} ${rawPath} (ListBuckets is not modelled)`);
    const subresources = [...query.keys()].filter((k) => k !== "x-id");
    if (key === "") {
        const prefixContext: Record<string, string> = query.has("prefix") ? { "s3:prefix": query.get("prefix")! } : {};
        if (m === "HEAD") return is("HeadBucket", "s3:ListBucket", bucketArn);
        if (m === "GET" && subresources.every((k) => ["list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after", "encoding-type", "fetch-owner", "marker"].includes(k))) {
            return is(query.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects", "s3:ListBucket", bucketArn, prefixContext);
        }
        throw new Error(`s3Policy: bucket request ${method} ${rawPath} is not modelled`);
    }
    if (m === "GET" && query.has("uploadId")) return is("ListParts", "s3:ListMultipartUploadParts", objectArn);
    if ((m === "GET" || m === "HEAD") && subresources.every((k) => ["partNumber", "response-content-type"].includes(k))) {
        return is(m === "GET" ? "GetObject" : "HeadObject", "s3:GetObject", objectArn);
    }
    // The encryption a request asks for is a condition key of the requests carrying it (PutObject,
    // CreateMultipartUpload); UploadPart and CompleteMultipartUpload carry none.
    const encryptionContext: Record<string, string> = {};
    for (const header of ["x-amz-server-side-encryption", "x-amz-server-side-encryption-customer-algorithm"]) {
        const value = headers[header];
        if (value !== undefined) encryptionContext[`s3:${header}`] = String(value);
    }
    if (m === "PUT" && subresources.every((k) => ["partNumber", "uploadId"].includes(k))) {
        return query.has("uploadId") ? is("UploadPart", "s3:PutObject", objectArn) : is("PutObject", "s3:PutObject", objectArn, encryptionContext);
    }
    if (m === "POST" && (query.has("uploads") || query.has("uploadId"))) {
        return query.has("uploads") ? is("CreateMultipartUpload", "s3:PutObject", objectArn, encryptionContext) : is("CompleteMultipartUpload", "s3:PutObject", objectArn);
    }
    if (m === "DELETE" && query.has("uploadId")) return is("AbortMultipartUpload", "s3:AbortMultipartUpload", objectArn);
    if (m === "DELETE" && subresources.length === 0) return is("DeleteObject", "s3:DeleteObject", objectArn);
    throw new Error(`s3Policy: object request ${method} ${rawPath} is not modelled`);
}

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
    const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${re}$`, ignoreCase ? "is" : "s").test(value);
}

const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

function conditionHolds(condition: PolicyStatement["Condition"], context: Record<string, string>): boolean {
    if (!condition) return true;
    const lower = Object.fromEntries(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
    return Object.entries(condition).every(([operator, keys]) =>
        Object.entries(keys).every(([key, values]) => {
            const actual = lower[key.toLowerCase()];
            const any = (match: (v: string) => boolean) => list(values).some(match);
            switch (operator) {
                case "StringEquals":
                    return actual !== undefined && any((v) => v === actual);
                case "StringLike":
                    return actual !== undefined && any((v) => globMatch(v, actual, false));
                case "StringNotEquals":
                    return actual === undefined || !any((v) => v === actual);
                case "StringNotLike":
                    return actual === undefined || !any((v) => globMatch(v, actual, false));
                case "Null":
                    return any((v) => (v === "true") === (actual === undefined));
                default:
                    throw new Error(`s3Policy: condition operator ${operator} is not modelled`);
            }
        }),
    );
}

function applies(s: PolicyStatement & { NotAction?: unknown; NotResource?: unknown }, action: string, resource: string, context: Record<string, string>): boolean {
    if (s.NotAction !== undefined || s.NotResource !== undefined) throw new Error("s3Policy: NotAction/NotResource are not modelled");
    return list(s.Action).some((a) => globMatch(a, action, true)) && list(s.Resource).some((r) => globMatch(r, resource, false)) && conditionHolds(s.Condition, context);
}

/** Evaluates one identity policy for one request. */
export function evaluate(policy: PolicyDocument, action: string, resource: string, context: Record<string, string> = {}): Decision {
    const statements = policy.Statement.filter((s) => applies(s, action, resource, context));
    if (statements.some((s) => s.Effect === "Deny")) return "ExplicitDeny";
    return statements.some((s) => s.Effect === "Allow") ? "Allow" : "ImplicitDeny";
}

/** The status S3 gives an authorized GetObject/HeadObject of a key that does not exist. */
export function missingKeyStatus(policy: PolicyDocument, bucketArn: string): 403 | 404 {
    // The GetObject request itself carries no s3:prefix: a prefix-conditioned grant fails here.
    return evaluate(policy, "s3:ListBucket", bucketArn, {}) === "Allow" ? 404 : 403;
}
