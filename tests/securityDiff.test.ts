/**
 * The security section of the plan diff on hand-made before/after documents and graphs: what
 * widens access on AWS must be listed, with the right severity. Each case encodes an AWS rule
 * (cited) that the diff relies on.
 */
import { strict as assert } from "assert";
import { Graph, GraphResource } from "../tools/graph";
import { policyWidening, principalAccount, securityChanges, stackAccount } from "../tools/securityDiff";

const ACCOUNT = "123456789012";
const OTHER = "210987654321";
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const bucketRead = (Condition?: object) => ({ Sid: "Read", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::uploads/*", ...(Condition ? { Condition } : {}) });

function graph(resources: Array<Partial<GraphResource> & { type: string; name: string; inputs: Record<string, unknown> }>): Graph {
    return {
        project: "platform",
        stack: "dev",
        outputs: { topicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts` },
        violations: [],
        resources: resources.map((r) => ({ urn: `urn:pulumi:dev::platform::${r.type}::${r.name}`, custom: true, dependencies: [], propertyDependencies: {}, protect: false, ...r })) as GraphResource[],
    } as Graph;
}

describe("security diff: conditions replaced by weaker ones", () => {
    // IAM User Guide, "IAM JSON policy elements: Condition"
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html):
    // a statement applies only when every condition holds, so swapping a condition for another
    // one, or loosening its operator or values, can allow what it denied before.
    it("aws:PrincipalOrgID swapped for aws:SecureTransport widens a public statement (high: the principal is *)", () => {
        const w = policyWidening(doc(bucketRead({ StringEquals: { "aws:PrincipalOrgID": "o-abc123" } })), doc(bucketRead({ Bool: { "aws:SecureTransport": "true" } })), "bucket policy", { kind: "resource", account: ACCOUNT });
        assert.equal(w.length, 1, JSON.stringify(w));
        assert.equal(w[0].severity, "high");
        assert.match(w[0].summary, /its Condition changed: `StringEquals aws:principalorgid "o-abc123"` removed, `Bool aws:securetransport "true"` added/);
    });

    it("StringEquals aws:SourceVpce → StringLike \"*\" is a condition that matches anything", () => {
        const w = policyWidening(doc(bucketRead({ StringEquals: { "aws:SourceVpce": "vpce-1a2b3c" } })), doc(bucketRead({ StringLike: { "aws:SourceVpce": "*" } })), "bucket policy", { kind: "resource", account: ACCOUNT });
        assert.equal(w.length, 1);
        assert.equal(w[0].severity, "high");
        assert.match(w[0].summary, /`StringEquals aws:sourcevpce "vpce-1a2b3c"` → `StringLike aws:sourcevpce "\*"`; the new condition matches anything/);
    });

    it("a changed value set is a widening; an added condition (stricter) is not reported", () => {
        const role = (values: string[]) => ({ Effect: "Allow", Action: "ec2:RunInstances", Resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:network-interface/*`, Condition: { StringEquals: { "ec2:Subnet": values } } });
        const changed = policyWidening(doc(role(["subnet-a"])), doc(role(["subnet-a", "subnet-b"])), "IAM policy", { kind: "identity", account: ACCOUNT });
        assert.equal(changed.length, 1);
        assert.equal(changed[0].severity, "widening", "the wildcard resource was already granted: a new subnet is a widening, not a new wildcard");
        assert.deepEqual(policyWidening(doc(role(["subnet-a"])), doc({ ...role(["subnet-a"]), Condition: { StringEquals: { "ec2:Subnet": ["subnet-a"], "aws:RequestedRegion": "us-east-1" } } }), "IAM policy"), []);
        // Condition keys are case-insensitive: a re-cased key is the same condition.
        assert.deepEqual(policyWidening(doc(role(["subnet-a"])), doc({ ...role(["subnet-a"]), Condition: { StringEquals: { "ec2:subnet": ["subnet-a"] } } }), "IAM policy"), []);
    });

    it("a Deny whose condition changes denies less: reported; a Deny without its condition denies more: not reported", () => {
        const deny = (Condition?: object) => ({ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "arn:aws:s3:::uploads/*", ...(Condition ? { Condition } : {}) });
        const narrowed = policyWidening(doc(deny({ Bool: { "aws:SecureTransport": "false" } })), doc(deny({ Bool: { "aws:SecureTransport": "false" }, StringEquals: { "aws:PrincipalAccount": OTHER } })), "bucket policy", { kind: "resource", account: ACCOUNT });
        assert.equal(narrowed.length, 1);
        assert.match(narrowed[0].summary, /Deny `DenyInsecureTransport` its Condition changed: `StringEquals aws:principalaccount "210987654321"` added, so it denies less/);
        assert.match(policyWidening(doc(deny({ Bool: { "aws:SecureTransport": "false" } })), doc(bucketRead()), "bucket policy")[1].summary, /Deny `DenyInsecureTransport` removed/);
        assert.deepEqual(policyWidening(doc(deny({ Bool: { "aws:SecureTransport": "false" } })), doc(deny()), "bucket policy"), [], "an unconditional Deny denies more");
    });
});

describe("security diff: security groups' inline ingress", () => {
    // Amazon VPC User Guide, "Security group rules" (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html):
    // an inbound rule with source 0.0.0.0/0 or ::/0 admits every address on the internet.
    const sg = (type: string, ingress: object[]) => graph([{ type, name: "sg", id: "sg-1", inputs: { vpcId: "vpc-1", ingress } }]);

    it("the default security group's inline ingress is examined (opened to the world: high)", () => {
        const type = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup";
        const c = securityChanges(sg(type, []), sg(type, [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }]));
        assert.equal(c.length, 1);
        assert.deepEqual([c[0].type, c[0].severity, c[0].summary], [type, "high", "ingress all traffic opened to `0.0.0.0/0` (the whole internet)"]);
    });

    it("a security group's inline ingress: a world-open port is high, another source a widening, an unchanged rule nothing", () => {
        const type = "aws:ec2/securityGroup:SecurityGroup";
        const https = { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.0.0.0/16"] };
        const c = securityChanges(sg(type, [https]), sg(type, [https, { protocol: "tcp", fromPort: 22, toPort: 22, ipv6CidrBlocks: ["::/0"] }, { protocol: "tcp", fromPort: 5432, toPort: 5432, securityGroups: ["sg-2"] }]));
        assert.deepEqual(c.map((x) => [x.severity, x.summary]), [
            ["high", "ingress tcp 22 (SSH) opened to `::/0` (the whole internet)"],
            ["widening", "ingress tcp 5432 (PostgreSQL) from `sg-2` added"],
        ]);
        assert.deepEqual(securityChanges(sg(type, [https]), sg(type, [https])), []);
    });
});

describe("security diff: principals in other accounts", () => {
    // IAM User Guide, "Cross account resource access in IAM"
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies-cross-account-resource-access.html):
    // a resource-based policy (or a role's trust policy) that names a principal of another account
    // grants that account access, which the other account's administrators then delegate.
    it("reads the account of account, root, role and federated principals", () => {
        assert.equal(principalAccount(`AWS:${OTHER}`), OTHER);
        assert.equal(principalAccount(`AWS:arn:aws:iam::${OTHER}:root`), OTHER);
        assert.equal(principalAccount(`AWS:arn:aws:sts::${OTHER}:assumed-role/r/s`), OTHER);
        assert.equal(principalAccount(`Federated:arn:aws:iam::${OTHER}:oidc-provider/token.actions.githubusercontent.com`), OTHER);
        assert.equal(principalAccount("Service:ec2.amazonaws.com"), undefined);
    });

    it("the stack's account is the one its ARNs name", () => {
        assert.equal(stackAccount(graph([{ type: "aws:sns/topic:Topic", name: "t", inputs: { kmsMasterKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1` } }])), ACCOUNT);
    });

    const trust = (...principals: string[]) => doc({ Effect: "Allow", Principal: { AWS: principals }, Action: "sts:AssumeRole" });
    const roleGraph = (assumeRolePolicy: string) => graph([{ type: "aws:iam/role:Role", name: "deployer", inputs: { assumeRolePolicy } }]);

    it("a trust policy that adds a role of another account is high and named cross-account; one of the stack's own account is a widening", () => {
        const own = `arn:aws:iam::${ACCOUNT}:role/ops`;
        const c = securityChanges(roleGraph(trust(own)), roleGraph(trust(own, `arn:aws:iam::${OTHER}:role/ci`)));
        assert.equal(c.length, 1);
        assert.equal(c[0].severity, "high");
        assert.match(c[0].summary, /^trust policy \(who may assume the role\) statement 0 allows .*for principals `AWS:arn:aws:iam::210987654321:role\/ci` — cross-account: `210987654321` \(the stack's account is `123456789012`\)$/);
        const sameAccount = securityChanges(roleGraph(trust(own)), roleGraph(trust(own, `arn:aws:iam::${ACCOUNT}:role/audit`)));
        assert.deepEqual(sameAccount.map((x) => x.severity), ["widening"]);
    });

    it("a bucket or topic policy opened to * or to another account is high", () => {
        const topic = (Principal: unknown) => graph([{ type: "aws:sns/topicPolicy:TopicPolicy", name: "alerts", inputs: { arn: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`, policy: doc({ Effect: "Allow", Principal, Action: "sns:Subscribe", Resource: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts` }) } }]);
        const base = graph([{ type: "aws:sns/topicPolicy:TopicPolicy", name: "alerts", inputs: { arn: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`, policy: doc() } }]);
        const other = securityChanges(base, topic({ AWS: OTHER }));
        assert.equal(other[0].severity, "high");
        assert.match(other[0].summary, /cross-account: `210987654321`/);
        const everyone = securityChanges(base, topic("*"));
        assert.equal(everyone[0].severity, "high");
        assert.match(everyone[0].summary, /public: any AWS principal in any account/);
    });
});

describe("security diff: key policies graded by principal and action", () => {
    // AWS KMS Developer Guide, "Creating a key policy"
    // (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html): in a key
    // policy the Resource element is "*", which means "this KMS key" — not a wildcard.
    const keyPolicy = (...extra: object[]) =>
        doc({ Sid: "Account", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["kms:DescribeKey", "kms:GetKeyPolicy"], Resource: "*" }, ...extra);
    const keyGraph = (policy: string) => graph([{ type: "aws:kms/key:Key", name: "topic", inputs: { policy } }]);
    const change = (extra: object) => securityChanges(keyGraph(keyPolicy()), keyGraph(keyPolicy(extra)));

    it("a same-account service allowed to use the key is a widening, not high (Resource * is the key itself)", () => {
        const c = change({ Sid: "Budgets", Effect: "Allow", Principal: { Service: "budgets.amazonaws.com" }, Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: "*" });
        assert.deepEqual(c.map((x) => [x.severity, x.summary]), [["widening", "key policy statement 1 (Budgets) allows actions `kms:GenerateDataKey*`, `kms:Decrypt` on `*` for principals `Service:budgets.amazonaws.com`"]]);
    });

    it("all actions, key administration, another account or everyone: high", () => {
        assert.equal(change({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/app` }, Action: "kms:*", Resource: "*" })[0].severity, "high");
        const admin = change({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/app` }, Action: "kms:PutKeyPolicy", Resource: "*" })[0];
        assert.deepEqual([admin.severity, /key administration `kms:PutKeyPolicy`/.test(admin.summary)], ["high", true]);
        const other = change({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "kms:Decrypt", Resource: "*" })[0];
        assert.deepEqual([other.severity, /cross-account: `210987654321`/.test(other.summary)], ["high", true]);
        assert.equal(change({ Effect: "Allow", Principal: "*", Action: "kms:Decrypt", Resource: "*" })[0].severity, "high");
    });

    it("outside key policies Resource * stays a wildcard", () => {
        assert.equal(policyWidening(doc(), doc({ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" }), "IAM policy", { kind: "identity", account: ACCOUNT })[0].severity, "high");
    });
});
