import * as assert from "assert";
import { B, expectPass, expectViolation, graph, res, secureBucket, tlsDenyStatement, violationsOf } from "./helpers";

describe("policies: private buckets", () => {
    describe("s3-bucket-public-access-block", () => {
        const rule = "s3-bucket-public-access-block";

        it("passes a bucket whose block (matched by property dependency) sets all four settings", async () => {
            await expectPass(graph(...secureBucket("data")), rule);
            await expectPass(graph(...secureBucket("legacy", B.bucketV2)), rule);
        });

        it("passes when the block names the bucket literally", async () => {
            const bucket = res(B.bucket, "logs", { bucket: "acme-logs" });
            const pab = res(B.pab, "logs-pab", {
                bucket: "acme-logs", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
            });
            await expectPass(graph(bucket, pab), rule);
        });

        it("reports a bucket without a public access block", async () => {
            const [bucket, , ...rest] = secureBucket("naked");
            await expectViolation(graph(bucket, ...rest), rule, bucket, { level: "mandatory", match: /no public access block/ });
        });

        it("reports a bucket whose block leaves a setting off, naming the setting", async () => {
            const bucket = res(B.bucket, "half");
            const pab = res(B.pab, "half-pab", {
                bucket: "<computed>", blockPublicAcls: true, blockPublicPolicy: false, ignorePublicAcls: true,
            }, { bucket: [bucket] });
            await expectViolation(graph(bucket, pab), rule, bucket, { match: /blockPublicPolicy, restrictPublicBuckets/ });
        });

        it("does not let another bucket's block protect this bucket", async () => {
            const [a, aPab] = secureBucket("a");
            const b = res(B.bucket, "b");
            await expectViolation(graph(a, aPab, b), rule, b);
            assert.strictEqual((await violationsOf(graph(a, aPab, b), rule)).length, 1);
        });

        it("reports a weak block that belongs to no bucket in the stack", async () => {
            const pab = res(B.pab, "orphan-pab", { bucket: "elsewhere", blockPublicAcls: false });
            await expectViolation(graph(pab), rule, pab);
        });
    });

    describe("s3-no-public-acl", () => {
        const rule = "s3-no-public-acl";

        it("passes private ACLs", async () => {
            const bucket = res(B.bucket, "ok", { acl: "private" });
            const acl = res(B.acl, "ok-acl", { bucket: "<computed>", acl: "private" }, { bucket: [bucket] });
            await expectPass(graph(bucket, acl), rule);
        });

        for (const acl of ["public-read", "public-read-write", "authenticated-read"]) {
            it(`reports a BucketAcl / BucketAclV2 / Bucket with canned ACL ${acl}`, async () => {
                const bucket = res(B.bucket, "pub", { acl });
                const a1 = res(B.acl, "pub-acl", { bucket: "<computed>", acl });
                const a2 = res(B.aclV2, "pub-acl-v2", { bucket: "<computed>", acl });
                const g = graph(bucket, a1, a2);
                await expectViolation(g, rule, bucket, { match: new RegExp(acl) });
                await expectViolation(g, rule, a1);
                await expectViolation(g, rule, a2);
            });
        }

        it("reports grants to AllUsers / AuthenticatedUsers", async () => {
            const acl = res(B.acl, "grants", {
                bucket: "b",
                accessControlPolicy: {
                    owner: { id: "owner" },
                    grants: [
                        { grantee: { type: "CanonicalUser", id: "owner" }, permission: "FULL_CONTROL" },
                        { grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" }, permission: "READ" },
                    ],
                },
            });
            const bucket = res(B.bucket, "grant-bucket", {
                grants: [{ type: "Group", uri: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers", permissions: ["READ"] }],
            });
            await expectViolation(graph(acl, bucket), rule, acl, { match: /AllUsers/ });
            await expectViolation(graph(acl, bucket), rule, bucket, { match: /AuthenticatedUsers/ });
        });
    });

    describe("s3-no-public-bucket-policy", () => {
        const rule = "s3-no-public-bucket-policy";
        const doc = (...Statement: unknown[]) => ({ Version: "2012-10-17", Statement });

        it("passes Deny statements, named principals and restricted wildcards", async () => {
            const p1 = res(B.policy, "p1", { bucket: "b", policy: JSON.stringify(doc(tlsDenyStatement("arn:aws:s3:::b"))) });
            const p2 = res(B.policy, "p2", {
                bucket: "b",
                policy: doc({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:role/app" }, Action: "s3:GetObject", Resource: "*" }),
            });
            const p3 = res(B.policy, "p3", {
                bucket: "b",
                policy: doc({
                    Effect: "Allow", Principal: { Service: "cloudfront.amazonaws.com" }, Action: "s3:GetObject", Resource: "*",
                }, {
                    Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*",
                    Condition: { StringEquals: { "aws:SourceArn": "arn:aws:cloudfront::123456789012:distribution/X" } },
                }),
            });
            const p4 = res(B.policy, "p4", { bucket: "b", policy: "<computed>" });
            await expectPass(graph(p1, p2, p3, p4), rule);
        });

        for (const principal of ["*", { AWS: "*" }, { AWS: ["*"] }]) {
            it(`reports Allow to Principal ${JSON.stringify(principal)} without a condition (string and object documents)`, async () => {
                const stmt = { Sid: "PublicRead", Effect: "Allow", Principal: principal, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" };
                const asString = res(B.policy, "public-str", { bucket: "b", policy: JSON.stringify(doc(stmt)) });
                const asObject = res(B.policy, "public-obj", { bucket: "b", policy: doc(stmt) });
                const inline = res(B.bucket, "inline-policy-bucket", { policy: JSON.stringify(doc(stmt)) });
                const g = graph(asString, asObject, inline);
                await expectViolation(g, rule, asString, { match: /PublicRead/ });
                await expectViolation(g, rule, asObject);
                await expectViolation(g, rule, inline);
            });
        }

        it("does not count an unrelated condition as restricting", async () => {
            const p = res(B.policy, "weak-cond", {
                bucket: "b",
                policy: doc({
                    Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*",
                    Condition: { StringLike: { "s3:prefix": "public/*" } },
                }),
            });
            await expectViolation(graph(p), rule, p);
        });
    });

    describe("s3-no-website", () => {
        const rule = "s3-no-website";

        it("passes buckets without website hosting", async () => {
            await expectPass(graph(...secureBucket("plain")), rule);
        });

        it("reports the website input and website configuration resources", async () => {
            const bucket = res(B.bucket, "site", { website: { indexDocument: "index.html" } });
            const cfg = res(B.website, "site-web", { bucket: "b", indexDocument: { suffix: "index.html" } });
            await expectViolation(graph(bucket, cfg), rule, bucket);
            await expectViolation(graph(bucket, cfg), rule, cfg);
        });
    });

    describe("s3-tls-only", () => {
        const rule = "s3-tls-only";

        it("passes a bucket whose policy holds the TLS-only Deny (object or JSON string; Bool or BoolIfExists)", async () => {
            await expectPass(graph(...secureBucket("tls")), rule);
            const bucket = res(B.bucket, "tls2", { bucket: "tls2-physical" });
            const pol = res(B.policy, "tls2-policy", {
                bucket: "tls2-physical",
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ ...tlsDenyStatement(), Action: ["s3:*"], Condition: { BoolIfExists: { "aws:SecureTransport": false } } }],
                }),
            });
            await expectPass(graph(bucket, pol), rule);
        });

        it("does not judge a policy that is unknown at preview", async () => {
            const bucket = res(B.bucket, "later");
            const pol = res(B.policy, "later-policy", { bucket: "<computed>", policy: "<computed>" }, { bucket: [bucket] });
            await expectPass(graph(bucket, pol), rule);
        });

        it("reports a bucket without any bucket policy", async () => {
            const bucket = res(B.bucket, "nopolicy");
            await expectViolation(graph(bucket), rule, bucket, { match: /no bucket policy/ });
        });

        it("reports a bucket whose policy lacks the Deny (e.g. an Allow with SecureTransport=true)", async () => {
            const bucket = res(B.bucket, "allowonly");
            const pol = res(B.policy, "allowonly-policy", {
                bucket: "<computed>",
                policy: {
                    Version: "2012-10-17",
                    Statement: [{ ...tlsDenyStatement(), Effect: "Allow", Principal: { AWS: "arn:aws:iam::1:root" },
                        Condition: { Bool: { "aws:SecureTransport": "true" } } }],
                },
            }, { bucket: [bucket] });
            await expectViolation(graph(bucket, pol), rule, bucket, { match: /no TLS-only Deny/ });
        });
    });

    describe("s3-default-encryption", () => {
        const rule = "s3-default-encryption";

        it("passes a bucket with an encryption configuration resource or inline configuration", async () => {
            await expectPass(graph(...secureBucket("enc")), rule);
            const inline = res(B.bucketV2, "inline-enc", {
                serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } } },
            });
            await expectPass(graph(inline), rule);
        });

        it("reports a bucket without default encryption", async () => {
            const [bucket, pab, pol] = secureBucket("plaintext");
            await expectViolation(graph(bucket, pab, pol), rule, bucket, { match: /no default encryption/ });
        });

        it("reports a bucket whose only encryption resource belongs to another bucket", async () => {
            const [a, , , aSse] = secureBucket("a");
            const b = res(B.bucket, "b");
            await expectViolation(graph(a, aSse, b), rule, b);
            await expectPass(graph(a, aSse), rule);
        });
    });
});
