/**
 * DNS: PublicZone (zone, DNSSEC, query logs, certificate) and Dns (records, private zone,
 * health check, failover to a CloudFront maintenance page), under the offline engine, for
 * both shipped stacks with a `platform:dns` block added (dev ships with DNS off; prod ships with
 * DNS on for its certificate, at a placeholder domain).
 */
import { strict as assert } from "assert";
import * as path from "path";
import { CACHING_OPTIMIZED_POLICY_ID, CLOUDFRONT_ZONE_ID, Dns, PublicZone } from "../components/dns";
import { GraphResource } from "../tools/graph";
import { MOCK_ACCOUNT_ID } from "../tools/mocks";
import { OfflineResult, PROJECT_DIR, ProgramError } from "../tools/offline";
import { runPolicies } from "../tools/policyCheck";
import { byType, devWithLoadBalancer, json, one, serialRun, stackRun, tempStackFile } from "./support/stacks";

const LB_ZONE_US_EAST_1 = "Z35SXDOTRQ7X7K";

interface Variant {
    stack: "dev" | "prod";
    dns: Record<string, unknown>;
    domain: string;
    privateZone: string;
    failover: boolean;
    dnssec: boolean;
    queryLogging: boolean;
    protect: boolean;
}

const VARIANTS: Variant[] = [
    {
        // dev defaults (no failover, DNSSEC or query logs) with a health check switched on.
        stack: "dev",
        dns: { enabled: true, parentDomain: "example.com", subdomain: "dev", healthCheck: { enabled: true, path: "/healthz" } },
        domain: "dev.example.com",
        privateZone: "dev.internal",
        failover: false,
        dnssec: false,
        queryLogging: false,
        protect: false,
    },
    {
        // prod defaults (health check, failover, query logs) plus DNSSEC, at the parent's apex.
        stack: "prod",
        dns: { enabled: true, parentDomain: "example.com", subdomain: "", dnssec: true },
        domain: "example.com",
        privateZone: "prod.internal",
        failover: true,
        dnssec: true,
        queryLogging: true,
        protect: true,
    },
];

const children = (resources: GraphResource[], parent: GraphResource) => resources.filter((r) => r.parent === parent.urn);
const deps = (r: GraphResource, prop: string) => r.propertyDependencies[prop] ?? [];

/** Every resource below `root` (children, grandchildren, ...). */
function descendants(resources: GraphResource[], root: GraphResource): GraphResource[] {
    const out: GraphResource[] = [];
    const walk = (urn: string) => {
        for (const r of resources.filter((x) => x.parent === urn)) {
            out.push(r);
            walk(r.urn);
        }
    };
    walk(root.urn);
    return out;
}

for (const v of VARIANTS) {
    describe(`DNS (${v.stack}, dns enabled)`, () => {
        let run: OfflineResult;
        let resources: GraphResource[];
        let publicZone: GraphResource;
        let dns: GraphResource;
        let zone: GraphResource;
        let certificate: GraphResource;
        let validation: GraphResource;
        let loadBalancer: GraphResource;
        const names = [v.domain, `www.${v.domain}`];

        before(async () => {
            run = await serialRun({ stack: v.stack, configFile: tempStackFile(v.stack, { ...(v.stack === "dev" ? devWithLoadBalancer() : {}), "platform:dns": v.dns }) });
            resources = run.graph.resources;
            publicZone = one(resources, "platform:dns:PublicZone");
            dns = one(resources, "platform:dns:Dns");
            zone = one(resources, "aws:route53/zone:Zone", "dns");
            certificate = one(resources, "aws:acm/certificate:Certificate", "dns");
            validation = one(resources, "aws:acm/certificateValidation:CertificateValidation", "dns");
            loadBalancer = one(resources, "aws:lb/loadBalancer:LoadBalancer");
        });

        it("creates the PublicZone before the web tier and the Dns after it (the web tier waits for the validated certificate)", () => {
            const urns = resources.map((r) => r.urn);
            const webTier = one(resources, "platform:webTier:WebTier");
            assert.ok(urns.indexOf(publicZone.urn) < urns.indexOf(webTier.urn));
            assert.ok(urns.indexOf(dns.urn) > urns.indexOf(webTier.urn));
            const listener = one(resources, "aws:lb/listener:Listener", "web-https");
            assert.deepEqual(deps(listener, "certificateArn"), [validation.urn]);
            assert.equal(listener.inputs.certificateArn, run.graph.outputs.certificateArn);
        });

        it("creates the public zone for the stack's domain, protected in prod", () => {
            assert.equal(zone.parent, publicZone.urn);
            assert.equal(zone.inputs.name, v.domain);
            assert.equal(zone.inputs.forceDestroy, false);
            assert.equal(zone.inputs.vpcs, undefined);
            assert.equal(zone.protect, v.protect);
            assert.equal(zone.retainOnDelete, v.protect);
            assert.equal(run.graph.outputs.publicZoneId, zone.id);
            const ns = run.graph.outputs.nameServers as string[];
            assert.equal(ns.length, 4);
            ns.forEach((n) => assert.match(n, /^ns-\d+\.awsdns-\d+\.(com|net|org|co\.uk)$/));
        });

        it("requests a DNS-validated certificate for the apex and www", () => {
            assert.equal(certificate.parent, publicZone.urn);
            assert.equal(certificate.inputs.domainName, v.domain);
            assert.deepEqual(certificate.inputs.subjectAlternativeNames, [`www.${v.domain}`]);
            assert.equal(certificate.inputs.validationMethod, "DNS");
            // The load balancer's certificate: the stack's provider (its region), not the us-east-1 one.
            assert.equal(certificate.provider, one(resources, "pulumi:providers:aws", "aws").urn);
            // us-east-1 stacks: the one certificate serves the load balancer and CloudFront.
            assert.equal(byType(resources, "aws:acm/certificate:Certificate").length, 1);
        });

        it("writes one validation CNAME per domain validation option into the zone, and validates with them", () => {
            const records = byType(resources, "aws:route53/record:Record").filter((r) => r.name.startsWith("dns-validation-"));
            assert.deepEqual(records.map((r) => r.name).sort(), ["dns-validation-apex", "dns-validation-www"]);
            for (const [i, domain] of names.entries()) {
                const record = one(records, "aws:route53/record:Record", i === 0 ? "dns-validation-apex" : "dns-validation-www");
                assert.equal(record.parent, publicZone.urn);
                assert.equal(record.inputs.zoneId, zone.id);
                assert.deepEqual(deps(record, "zoneId"), [zone.urn]);
                assert.deepEqual(deps(record, "name"), [certificate.urn]);
                assert.equal(record.inputs.type, "CNAME");
                assert.equal(record.inputs.ttl, 60);
                assert.equal(record.inputs.allowOverwrite, true);
                assert.match(String(record.inputs.name), new RegExp(`^_[0-9a-f]{32}\\.${domain.replace(/\./g, "\\.")}\\.$`));
                assert.match(String((record.inputs.records as string[])[0]), /^_[0-9a-f]{32}\.acm-validations\.aws\.$/);
                assert.equal((record.inputs.records as string[]).length, 1);
            }
            assert.equal(validation.parent, publicZone.urn);
            assert.deepEqual(deps(validation, "certificateArn"), [certificate.urn]);
            assert.deepEqual(
                [...(validation.inputs.validationRecordFqdns as string[])].sort(),
                records.map((r) => String(r.inputs.name).replace(/\.$/, "")).sort(),
            );
            assert.deepEqual([...deps(validation, "validationRecordFqdns")].sort(), records.map((r) => r.urn).sort());
            assert.match(String(run.graph.outputs.certificateArn), /^arn:aws:acm:us-east-1:123456789012:certificate\/[0-9a-f-]{36}$/);
        });

        it("points the site's names at the IPv4-only load balancer (A records, apex and www; no AAAA)", () => {
            const lbDnsName = run.graph.outputs.loadBalancerDnsName;
            assert.match(String(lbDnsName), /\.us-east-1\.elb\.amazonaws\.com$/);
            const suffix = v.failover ? "-primary" : "";
            for (const [label, fqdn] of [["apex", names[0]], ["www", names[1]]]) {
                for (const type of ["A"]) {
                    const record = one(resources, "aws:route53/record:Record", `dns-${label}-${type.toLowerCase()}${suffix}`);
                    assert.equal(record.parent, dns.urn);
                    assert.equal(record.inputs.zoneId, zone.id);
                    assert.equal(record.inputs.name, fqdn);
                    assert.equal(record.inputs.type, type);
                    assert.deepEqual(record.inputs.aliases, [{ name: lbDnsName, zoneId: LB_ZONE_US_EAST_1, evaluateTargetHealth: true }]);
                    assert.deepEqual(deps(record, "aliases"), [loadBalancer.urn]);
                }
            }
            // An AAAA alias to an IPv4-only load balancer answers nothing (and with failover would
            // send IPv6 clients to the maintenance page): the load balancer is ipv4, so no AAAA.
            assert.equal(loadBalancer.inputs.ipAddressType, "ipv4");
            assert.deepEqual(byType(resources, "aws:route53/record:Record").filter((r) => r.inputs.type === "AAAA"), []);
            assert.equal(run.graph.outputs.siteUrl, `https://${v.domain}`);
        });

        it("associates a private zone with the VPC and names the database in it", () => {
            const privateZone = one(resources, "aws:route53/zone:Zone", "dns-private");
            assert.equal(privateZone.parent, dns.urn);
            assert.equal(privateZone.inputs.name, v.privateZone);
            assert.deepEqual(privateZone.inputs.vpcs, [{ vpcId: run.graph.outputs.vpcId }]);
            assert.deepEqual(deps(privateZone, "vpcs"), [one(resources, "awsx:ec2:Vpc").urn]);
            const db = one(resources, "aws:route53/record:Record", "dns-db");
            const address = String(run.graph.outputs.databaseEndpoint).replace(/:\d+$/, "");
            assert.match(address, /\.rds\.amazonaws\.com$/);
            assert.deepEqual(
                { zoneId: db.inputs.zoneId, name: db.inputs.name, type: db.inputs.type, ttl: db.inputs.ttl, records: db.inputs.records },
                { zoneId: privateZone.id, name: `db.${v.privateZone}`, type: "CNAME", ttl: 60, records: [address] },
            );
            assert.deepEqual(deps(db, "records"), [one(resources, "aws:rds/instance:Instance").urn]);
        });

        it("checks the site over HTTPS from Route 53 and alarms in us-east-1 when it fails", () => {
            const hc = one(resources, "aws:route53/healthCheck:HealthCheck");
            assert.equal(hc.parent, dns.urn);
            const { tags, ...inputs } = hc.inputs;
            assert.deepEqual(inputs, {
                type: "HTTPS",
                // With failover the check must reach the load balancer itself, not the failed-over name.
                fqdn: v.failover ? run.graph.outputs.loadBalancerDnsName : v.domain,
                port: 443,
                enableSni: true,
                resourcePath: "/healthz",
                failureThreshold: 3,
                requestInterval: 30,
                measureLatency: false,
            });
            assert.match(hc.id!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

            // One alarm on the check: in us-east-1 stacks Monitoring's, to the alert topic; none in Dns.
            const onCheck = byType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => (a.inputs.dimensions as any)?.HealthCheckId === hc.id);
            assert.equal(onCheck.length, 1);
            assert.equal(onCheck[0].inputs.namespace, "AWS/Route53");
            assert.equal(onCheck[0].inputs.metricName, "HealthCheckStatus");
            assert.notEqual(onCheck[0].parent, dns.urn);
            assert.equal(children(resources, dns).filter((r) => r.type === "pulumi:providers:aws").length, 0);
        });

        if (!v.failover) {
            it("makes no failover records, maintenance page or distribution without failover", () => {
                assert.equal(byType(resources, "aws:cloudfront/distribution:Distribution").length, 0);
                assert.equal(byType(resources, "aws:cloudfront/originAccessControl:OriginAccessControl").length, 0);
                assert.equal(resources.filter((r) => r.type === "aws:route53/record:Record" && r.inputs.failoverRoutingPolicies !== undefined).length, 0);
                assert.equal(resources.filter((r) => r.type === "platform:bucket:PrivateBucket" && r.parent === dns.urn).length, 0);
            });
        }

        if (v.failover) {
            describe("failover to the maintenance page", () => {
                let distribution: GraphResource;
                let oac: GraphResource;
                let bucket: GraphResource;
                let bucketComponent: GraphResource;
                before(() => {
                    distribution = one(resources, "aws:cloudfront/distribution:Distribution");
                    oac = one(resources, "aws:cloudfront/originAccessControl:OriginAccessControl");
                    bucketComponent = one(resources, "platform:bucket:PrivateBucket", "dns-maintenance");
                    bucket = one(resources, "aws:s3/bucket:Bucket", "dns-maintenance");
                });

                it("pairs every PRIMARY record (load balancer, health check) with a SECONDARY to CloudFront", () => {
                    const hc = one(resources, "aws:route53/healthCheck:HealthCheck");
                    for (const [label, fqdn] of [["apex", names[0]], ["www", names[1]]]) {
                        for (const type of ["A"]) {
                            const primary = one(resources, "aws:route53/record:Record", `dns-${label}-${type.toLowerCase()}-primary`);
                            const secondary = one(resources, "aws:route53/record:Record", `dns-${label}-${type.toLowerCase()}-secondary`);
                            assert.deepEqual(primary.inputs.failoverRoutingPolicies, [{ type: "PRIMARY" }]);
                            assert.equal(primary.inputs.setIdentifier, "primary");
                            assert.equal(primary.inputs.healthCheckId, hc.id);
                            assert.deepEqual(deps(primary, "healthCheckId"), [hc.urn]);
                            assert.deepEqual(
                                { zoneId: secondary.inputs.zoneId, name: secondary.inputs.name, type: secondary.inputs.type, setIdentifier: secondary.inputs.setIdentifier },
                                { zoneId: zone.id, name: fqdn, type, setIdentifier: "secondary" },
                            );
                            assert.deepEqual(secondary.inputs.failoverRoutingPolicies, [{ type: "SECONDARY" }]);
                            assert.equal(secondary.inputs.healthCheckId, undefined);
                            assert.deepEqual(secondary.inputs.aliases, [{ name: `${distribution.id!.toLowerCase()}.cloudfront.net`, zoneId: CLOUDFRONT_ZONE_ID, evaluateTargetHealth: false }]);
                            assert.deepEqual(deps(secondary, "aliases"), [distribution.urn]);
                        }
                    }
                    // No plain (non-failover) record may share a name with the failover pair.
                    assert.equal(resources.filter((r) => /^dns-(apex|www)-(a|aaaa)$/.test(r.name)).length, 0);
                });

                it("signs CloudFront's requests to the private bucket with origin access control", () => {
                    assert.equal(oac.parent, dns.urn);
                    assert.deepEqual(
                        { ...oac.inputs, name: undefined, description: undefined },
                        { originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4", name: undefined, description: undefined },
                    );
                    assert.ok(String(oac.inputs.name).length <= 64);
                    assert.equal(bucketComponent.parent, dns.urn);
                    const origins = distribution.inputs.origins as any[];
                    assert.equal(origins.length, 1);
                    assert.equal(origins[0].originAccessControlId, oac.id);
                    assert.match(origins[0].domainName, /^dns-maintenance-[0-9a-f]{7}\.s3\.us-east-1\.amazonaws\.com$/);
                    assert.equal(origins[0].s3OriginConfig, undefined);
                    assert.equal(origins[0].customOriginConfig, undefined);
                });

                it("serves the maintenance page over HTTPS only, with the us-east-1 certificate and the site's names", () => {
                    const i = distribution.inputs as any;
                    assert.equal(distribution.parent, dns.urn);
                    assert.equal(i.enabled, true);
                    assert.deepEqual(i.aliases, names);
                    assert.equal(i.defaultRootObject, "maintenance.html");
                    assert.equal(i.priceClass, "PriceClass_100");
                    assert.deepEqual(i.viewerCertificate, { acmCertificateArn: run.graph.outputs.certificateArn, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" });
                    assert.deepEqual(deps(distribution, "viewerCertificate"), [validation.urn]);
                    assert.equal(i.defaultCacheBehavior.viewerProtocolPolicy, "redirect-to-https");
                    assert.equal(i.defaultCacheBehavior.cachePolicyId, CACHING_OPTIMIZED_POLICY_ID);
                    assert.equal(CACHING_OPTIMIZED_POLICY_ID, "658327ea-f89d-4fab-a63d-7e88639e58f6");
                    assert.equal(i.defaultCacheBehavior.targetOriginId, i.origins[0].originId);
                    assert.deepEqual(i.defaultCacheBehavior.allowedMethods, ["GET", "HEAD"]);
                    assert.deepEqual(i.customErrorResponses, [
                        { errorCode: 403, responseCode: 503, responsePagePath: "/maintenance.html", errorCachingMinTtl: 10 },
                        { errorCode: 404, responseCode: 503, responsePagePath: "/maintenance.html", errorCachingMinTtl: 10 },
                    ]);
                    assert.deepEqual(i.restrictions, { geoRestriction: { restrictionType: "none" } });
                });

                it("uploads maintenance.html as text/html into the maintenance bucket", () => {
                    const page = one(resources, "aws:s3/bucketObjectv2:BucketObjectv2");
                    assert.equal(page.parent, dns.urn);
                    assert.equal(page.inputs.key, "maintenance.html");
                    assert.equal(page.inputs.contentType, "text/html");
                    assert.match(String(page.inputs.content), /^<!DOCTYPE html>[\s\S]*down for maintenance/);
                    assert.deepEqual(deps(page, "bucket"), [bucket.urn]);
                });

                it("keeps the bucket private: CloudFront may read objects only for this distribution", () => {
                    const policy = one(resources, "aws:s3/bucketPolicy:BucketPolicy", "dns-maintenance");
                    const doc = json(policy.inputs.policy);
                    const bucketArn = `arn:aws:s3:::${/^(dns-maintenance-[0-9a-f]{7})\./.exec((distribution.inputs as any).origins[0].domainName)![1]}`;
                    const distributionArn = `arn:aws:cloudfront::${MOCK_ACCOUNT_ID}:distribution/${distribution.id}`;
                    const allows = (doc.Statement as any[]).filter((s) => s.Effect === "Allow");
                    assert.deepEqual(allows, [
                        {
                            Sid: "CloudFrontReadsMaintenancePage",
                            Effect: "Allow",
                            Principal: { Service: "cloudfront.amazonaws.com" },
                            Action: "s3:GetObject",
                            Resource: `${bucketArn}/*`,
                            Condition: { StringEquals: { "aws:SourceArn": distributionArn } },
                        },
                    ]);
                    // The distribution's ARN reached the policy as a real dependency (delete order).
                    assert.ok(deps(policy, "policy").includes(distribution.urn));
                    const inBucket = descendants(resources, bucketComponent);
                    assert.equal(inBucket.filter((r) => /website/i.test(r.type)).length, 0);
                    assert.equal(bucket.inputs.website, undefined);
                    const pab = one(inBucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
                    assert.deepEqual(
                        [pab.inputs.blockPublicAcls, pab.inputs.blockPublicPolicy, pab.inputs.ignorePublicAcls, pab.inputs.restrictPublicBuckets],
                        [true, true, true, true],
                    );
                    assert.equal(bucket.protect, v.protect);
                });
            });
        }

        if (v.dnssec) {
            it("signs the zone with a P-256 KMS key in us-east-1 that only Route 53 DNSSEC may use for this zone", () => {
                const provider = one(resources, "pulumi:providers:aws", "dns-zone-us-east-1");
                assert.equal(provider.parent, publicZone.urn);
                assert.equal(provider.inputs.region, "us-east-1");
                const key = one(resources, "aws:kms/key:Key", "dns-dnssec");
                assert.equal(key.parent, publicZone.urn);
                assert.equal(key.provider, provider.urn);
                assert.equal(key.inputs.customerMasterKeySpec, "ECC_NIST_P256");
                assert.equal(key.inputs.keyUsage, "SIGN_VERIFY");
                assert.equal(key.inputs.enableKeyRotation, undefined);
                assert.equal(key.protect, v.protect);
                assert.deepEqual(json(key.inputs.policy), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AccountAdministersTheKey",
                            Effect: "Allow",
                            Principal: { AWS: `arn:aws:iam::${MOCK_ACCOUNT_ID}:root` },
                            Action: [
                                "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
                                "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
                            ],
                            Resource: "*",
                        },
                        {
                            Sid: "Route53DnssecSigns",
                            Effect: "Allow",
                            Principal: { Service: "dnssec-route53.amazonaws.com" },
                            Action: ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"],
                            Resource: "*",
                            Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID }, ArnLike: { "aws:SourceArn": `arn:aws:route53:::hostedzone/${zone.id}` } },
                        },
                        {
                            Sid: "Route53DnssecCreatesGrants",
                            Effect: "Allow",
                            Principal: { Service: "dnssec-route53.amazonaws.com" },
                            Action: "kms:CreateGrant",
                            Resource: "*",
                            Condition: { Bool: { "kms:GrantIsForAWSResource": "true" }, StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID } },
                        },
                    ],
                });
                const ksk = one(resources, "aws:route53/keySigningKey:KeySigningKey");
                assert.equal(ksk.parent, publicZone.urn);
                assert.equal(ksk.inputs.hostedZoneId, zone.id);
                assert.equal(ksk.inputs.keyManagementServiceArn, `arn:aws:kms:us-east-1:${MOCK_ACCOUNT_ID}:key/${key.id}`);
                assert.equal(ksk.inputs.status, "ACTIVE");
                assert.match(String(ksk.inputs.name), /^[A-Za-z0-9_]{3,128}$/);
                const signing = one(resources, "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec");
                assert.equal(signing.inputs.hostedZoneId, zone.id);
                assert.equal(signing.inputs.signingStatus, "SIGNING");
                assert.ok(signing.dependencies.includes(ksk.urn));
            });
        }

        if (v.queryLogging) {
            it("logs queries to /aws/route53/<zone> in us-east-1, writable by Route 53 for that group only", () => {
                const provider = one(resources, "pulumi:providers:aws", "dns-zone-us-east-1");
                const group = one(resources, "aws:cloudwatch/logGroup:LogGroup", "dns-query-logs");
                assert.equal(group.parent, publicZone.urn);
                assert.equal(group.provider, provider.urn);
                assert.equal(group.inputs.name, `/aws/route53/${v.domain}`);
                const groupArn = `arn:aws:logs:us-east-1:${MOCK_ACCOUNT_ID}:log-group:/aws/route53/${v.domain}`;
                const policy = one(resources, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "dns-query-logs");
                assert.equal(policy.provider, provider.urn);
                assert.deepEqual(json(policy.inputs.policyDocument), {
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "route53.amazonaws.com" },
                            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                            Resource: `${groupArn}:*`,
                            Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID }, ArnLike: { "aws:SourceArn": `arn:aws:route53:::hostedzone/${zone.id}` } },
                        },
                    ],
                });
                const queryLog = one(resources, "aws:route53/queryLog:QueryLog");
                assert.equal(queryLog.parent, publicZone.urn);
                assert.deepEqual(queryLog.inputs, { zoneId: zone.id, cloudwatchLogGroupArn: groupArn });
                assert.ok(queryLog.dependencies.includes(policy.urn));
            });
        } else {
            it("makes no DNSSEC key, query log or us-east-1 provider in the PublicZone when they are off", () => {
                assert.equal(byType(resources, "aws:route53/queryLog:QueryLog").length, 0);
                assert.equal(byType(resources, "aws:route53/keySigningKey:KeySigningKey").length, 0);
                assert.equal(children(resources, publicZone).filter((r) => r.type === "pulumi:providers:aws").length, 0);
            });
        }

        it("passes the platform policy pack (no mandatory violations on the DNS resources)", async () => {
            const violations = await runPolicies(run.graph);
            const mine = new Set([publicZone, dns, ...descendants(resources, publicZone), ...descendants(resources, dns)].map((r) => r.urn));
            const mandatory = violations.filter((x) => x.level === "mandatory" && (x.urn === null || mine.has(x.urn)));
            assert.deepEqual(mandatory, []);
        });
    });
}

describe("DNS: an existing zone (createZone: false)", () => {
    let run: OfflineResult;
    before(async () => {
        run = await serialRun({
            stack: "dev",
            configFile: tempStackFile("dev", { ...devWithLoadBalancer(), "platform:dns": { enabled: true, parentDomain: "example.org", subdomain: "dev", createZone: false } }),
        });
    });

    it("looks the public zone up by name and builds on its id", () => {
        const resources = run.graph.resources;
        assert.equal(byType(resources, "aws:route53/zone:Zone").filter((z) => z.name === "dns").length, 0);
        const record = one(resources, "aws:route53/record:Record", "dns-validation-apex");
        // The mock's answer for getZone(name: dev.example.org).
        assert.match(String(record.inputs.zoneId), /^Z[0-9A-F]{20}$/);
        assert.equal(run.graph.outputs.publicZoneId, record.inputs.zoneId);
        assert.equal(one(resources, "aws:route53/record:Record", "dns-apex-a").inputs.zoneId, record.inputs.zoneId);
        // dev defaults: no health check, no failover.
        assert.equal(byType(resources, "aws:route53/healthCheck:HealthCheck").length, 0);
        assert.equal(byType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name.startsWith("dns")).length, 0);
    });
});

describe("DNS: a stack outside us-east-1 with failover", () => {
    let run: OfflineResult;
    before(async () => {
        run = await serialRun({
            stack: "prod",
            configFile: tempStackFile("prod", {
                "aws:region": "eu-west-1",
                "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "eu" },
                "platform:alarmEmails": ["ops@example.com", "oncall@example.com"],
            }),
        });
    });

    it("gives the load balancer a regional certificate and CloudFront a us-east-1 one, validated by the same records", () => {
        const resources = run.graph.resources;
        const provider = one(resources, "pulumi:providers:aws", "dns-zone-us-east-1");
        const publicZone = one(resources, "platform:dns:PublicZone");
        assert.equal(provider.parent, publicZone.urn);
        const regional = one(resources, "aws:acm/certificate:Certificate", "dns");
        const global = one(resources, "aws:acm/certificate:Certificate", "dns-cloudfront");
        assert.equal(regional.provider, one(resources, "pulumi:providers:aws", "aws").urn);
        assert.equal(global.provider, provider.urn);
        assert.deepEqual([global.inputs.domainName, global.inputs.subjectAlternativeNames], ["eu.example.com", ["www.eu.example.com"]]);
        const globalValidation = one(resources, "aws:acm/certificateValidation:CertificateValidation", "dns-cloudfront");
        assert.equal(globalValidation.provider, provider.urn);
        const records = byType(resources, "aws:route53/record:Record").filter((r) => r.name.startsWith("dns-validation-"));
        assert.equal(records.length, 2);
        assert.deepEqual([...deps(globalValidation, "validationRecordFqdns")].sort(), records.map((r) => r.urn).sort());
        const distribution = one(resources, "aws:cloudfront/distribution:Distribution");
        assert.deepEqual(deps(distribution, "viewerCertificate"), [globalValidation.urn]);
        const listener = one(resources, "aws:lb/listener:Listener", "web-https");
        assert.deepEqual(deps(listener, "certificateArn"), [one(resources, "aws:acm/certificateValidation:CertificateValidation", "dns").urn]);
    });

    // Route 53 publishes health-check metrics only in us-east-1, and a CloudWatch alarm can notify
    // only an SNS topic in its own region (Amazon CloudWatch User Guide, "Using Amazon CloudWatch
    // alarms", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html;
    // Route 53 Developer Guide, "Monitoring health check status and getting notifications",
    // https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-monitor-view-status.html).
    it("alarms on the health check from us-east-1 to a us-east-1 alert topic with the same subscribers", () => {
        const resources = run.graph.resources;
        const monitoring = one(resources, "platform:monitoring:Monitoring");
        const hc = one(resources, "aws:route53/healthCheck:HealthCheck");
        const provider = one(resources, "pulumi:providers:aws", "monitoring-us-east-1");
        assert.equal(provider.parent, monitoring.urn);
        assert.equal(provider.inputs.region, "us-east-1");
        const onCheck = byType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => (a.inputs.dimensions as any)?.HealthCheckId === hc.id);
        assert.equal(onCheck.length, 1, "one alarm per check");
        const alarm = onCheck[0];
        assert.equal(alarm.provider, provider.urn);
        const i = alarm.inputs;
        assert.deepEqual(
            [i.name, i.namespace, i.metricName, i.statistic, i.period, i.threshold, i.comparisonOperator, i.treatMissingData],
            ["platform-prod-health-check-failed", "AWS/Route53", "HealthCheckStatus", "Minimum", 60, 1, "LessThanThreshold", "breaching"],
        );
        assert.deepEqual(deps(alarm, "dimensions"), [hc.urn]);
        // It notifies somebody: a topic in its own region (us-east-1), not the stack's eu-west-1 one.
        const topic = one(resources, "aws:sns/topic:Topic", "monitoring-alerts-us-east-1");
        assert.equal(topic.provider, provider.urn);
        const topicArn = "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts-us-east-1";
        assert.deepEqual([i.alarmActions, i.okActions], [[topicArn], [topicArn]]);
        for (const a of byType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")) {
            for (const arn of [...((a.inputs.alarmActions as string[]) ?? []), ...((a.inputs.okActions as string[]) ?? [])]) {
                const region = arn.split(":")[3];
                assert.equal(region, a.provider === provider.urn ? "us-east-1" : "eu-west-1", `${a.name} notifies ${arn}`);
            }
        }
        // Encrypted with a us-east-1 key CloudWatch alarms of this stack may use; the same subscribers.
        const key = one(resources, "aws:kms/key:Key", "monitoring-topic-us-east-1");
        assert.equal(key.provider, provider.urn);
        assert.equal(topic.inputs.kmsMasterKeyId, `arn:aws:kms:us-east-1:123456789012:key/${key.id}`);
        const cw = JSON.parse(key.inputs.policy as string).Statement.find((st: any) => st.Principal?.Service === "cloudwatch.amazonaws.com");
        assert.deepEqual(cw.Condition, { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:platform-prod-*" } });
        const subs = (t: GraphResource) => byType(resources, "aws:sns/topicSubscription:TopicSubscription").filter((x) => deps(x, "topic").includes(t.urn)).map((x) => [x.inputs.protocol, x.inputs.endpoint]).sort();
        assert.deepEqual(subs(topic), [["email", "ops@example.com"], ["email", "oncall@example.com"]].sort());
        assert.deepEqual(subs(topic), subs(one(resources, "aws:sns/topic:Topic", "monitoring-alerts")));
        // The Dns component makes no alarm of its own (one alarm per check).
        assert.equal(byType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name === "dns-health").length, 0);
    });
});

describe("DNS: config errors", () => {
    it("reports a bad domain, a bad subdomain and failover without a health check path in one config error", async () => {
        const configFile = tempStackFile("prod", {
            "platform:dns": { enabled: true, parentDomain: "not_a domain", subdomain: "Dev!", failover: true, healthCheck: { enabled: false } },
        });
        await assert.rejects(serialRun({ stack: "prod", configFile }), (err: unknown) => {
            assert.ok(err instanceof ProgramError);
            assert.equal(err.kind, "config");
            assert.match(err.message, /\(3 problems\)/);
            assert.match(err.message, /platform:dns\.parentDomain = "not_a domain": must be a valid DNS name/);
            assert.match(err.message, /platform:dns\.subdomain = "Dev!": must be one DNS label/);
            assert.match(err.message, /platform:dns\.healthCheck\.path.*failover needs a health check/);
            return true;
        });
    });
});

describe("DNS: shipped stacks", () => {
    it("prod ships DNS on at the placeholder domain, for its HTTPS certificate", async () => {
        const { graph } = await stackRun("prod");
        assert.equal(graph.outputs.siteUrl, "https://prod.example.com");
        assert.match(String(graph.outputs.certificateArn), /^arn:aws:acm:us-east-1:123456789012:certificate\//);
        assert.equal(graph.resources.filter((r) => r.type === "aws:route53/zone:Zone" && r.name === "dns").length, 1);
    });

    it("dev keeps DNS off: no zone, no records, the web tier's own name", async () => {
        for (const stack of ["dev"]) {
            const { graph } = await stackRun(stack);
            assert.equal(graph.resources.filter((r) => r.type.startsWith("platform:dns:") || r.type.startsWith("aws:route53/")).length, 0);
            assert.equal(graph.outputs.publicZoneId, undefined);
            if (stack === "prod") {
                assert.equal(graph.outputs.siteUrl, `http://${graph.outputs.loadBalancerDnsName}`);
            } else {
                // dev's single instance is reached at its Elastic IP.
                const eip = graph.resources.find((r) => r.type === "aws:ec2/eip:Eip")!;
                assert.ok(eip, "dev has an Elastic IP");
                assert.match(String(graph.outputs.siteUrl), /^http:\/\/\d+\.\d+\.\d+\.\d+$/);
            }
        }
    });
});

describe("DNS components: argument checks", () => {
    it("refuse failover without a health check path or CloudFront certificate, and bad names", () => {
        assert.throws(
            () => new Dns("x", { zoneId: "Z1", domainName: "Bad_Name", loadBalancerDnsName: "lb", loadBalancerZoneId: "Z2", vpcId: "vpc-1", privateZoneName: "x.internal", failover: true }),
            /Dns "x": domainName "Bad_Name" must be a lower-case DNS name.*failover needs healthCheckPath.*failover needs cloudFrontCertificateArn/,
        );
        assert.throws(() => new PublicZone("z", { domainName: "example", region: "us-east-1" }), /PublicZone "z": domainName "example" must be a lower-case DNS name/);
    });
});

describe("dns: AAAA records only for a dualstack load balancer (tests/fixtures/dnsRecords)", function () {
    this.timeout(60_000);
    const FIXTURE = path.join(PROJECT_DIR, "tests", "fixtures", "dnsRecords");
    const records = async (stack: string) => {
        const { graph } = await serialRun({ stack, programDir: FIXTURE });
        return byType(graph.resources, "aws:route53/record:Record")
            .filter((r) => r.inputs.aliases !== undefined)
            .map((r) => `${r.inputs.name} ${r.inputs.type} ${r.inputs.setIdentifier}`)
            .sort();
    };

    it("IPv4-only: A primary/secondary pairs, no AAAA (an AAAA alias to it would answer nothing)", async () => {
        assert.deepEqual(await records("ipv4"), [
            "www-test.example.com A primary",
            "www-test.example.com A secondary",
            "www.www-test.example.com A primary",
            "www.www-test.example.com A secondary",
        ]);
    });

    it("dualstack: A and AAAA pairs for both names", async () => {
        assert.deepEqual(await records("dualstack"), [
            "www-test.example.com A primary",
            "www-test.example.com A secondary",
            "www-test.example.com AAAA primary",
            "www-test.example.com AAAA secondary",
            "www.www-test.example.com A primary",
            "www.www-test.example.com A secondary",
            "www.www-test.example.com AAAA primary",
            "www.www-test.example.com AAAA secondary",
        ]);
    });
});
