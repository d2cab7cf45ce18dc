/**
 * The replacement table (tools/replacements/forceNew.ts): it covers every resource type the
 * program creates, in both shipped stacks and with DNS on, and every path it names is an input
 * of the installed @pulumi/aws (or awsx) resource, so a snake_case → camelCase slip fails here.
 * The create-only rules themselves are terraform-provider-aws's schemas (ForceNew), which the
 * Pulumi AWS provider bridges: "Terraform Plugin SDK: Schema Behaviors — ForceNew"
 * (https://developer.hashicorp.com/terraform/plugin/sdkv2/schemas/schema-behaviors#forcenew).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { GraphResource } from "../tools/graph";
import { PROJECT_DIR } from "../tools/offline";
import { AWSX_VPC, isLogicalOnly, PROVIDER_SOURCE, REPLACEMENT_RULES } from "../tools/replacements/forceNew";
import { forceNewTriggers, schemaPath } from "../tools/replacements/analyze";
import { PRICES } from "../tools/prices";
import { devWithLoadBalancer, serialRun, stackRun, tempStackFile } from "./support/stacks";

/** Property names of `export interface <Class>Args { ... }` in an installed .d.ts. */
function argsOf(file: string, cls: string): Set<string> {
    const text = fs.readFileSync(file, "utf8");
    const start = text.indexOf(`export interface ${cls}Args {`);
    assert.ok(start >= 0, `${cls}Args in ${file}`);
    const body = text.slice(start, text.indexOf("\n}", start));
    return new Set([...body.matchAll(/^ {4}(?:readonly )?([A-Za-z0-9_]+)\??:/gm)].map((m) => m[1]));
}

function dtsFor(type: string): { file: string; cls: string } {
    const [pkg, mod, cls] = type.split(":");
    if (pkg === "awsx") return { file: path.join(PROJECT_DIR, "node_modules/@pulumi/awsx", mod, `${cls[0].toLowerCase()}${cls.slice(1)}.d.ts`), cls };
    if (pkg === "random") return { file: path.join(PROJECT_DIR, "node_modules/@pulumi/random", `${mod.split("/")[1]}.d.ts`), cls };
    const [dir, file] = mod.split("/");
    return { file: path.join(PROJECT_DIR, "node_modules/@pulumi/aws", dir, `${file}.d.ts`), cls };
}

describe("replacement table", function () {
    this.timeout(240_000);
    const types = new Map<string, Set<string>>();

    before(async () => {
        const runs: Array<[string, Promise<{ graph: { resources: GraphResource[] } }>]> = [
            ["dev", stackRun("dev")],
            ["prod", stackRun("prod")],
        ];
        for (const [name, p] of runs) for (const r of (await p).graph.resources) (types.get(r.type) ?? types.set(r.type, new Set()).get(r.type)!).add(name);
        const devDns = await serialRun({ stack: "dev", configFile: tempStackFile("dev", { ...devWithLoadBalancer(), "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "dev", healthCheck: { enabled: true, path: "/healthz" } } }) });
        const prodDns = await serialRun({ stack: "prod", configFile: tempStackFile("prod", { "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "", dnssec: true } }) });
        for (const [name, run] of [["dev+dns", devDns], ["prod+dns", prodDns]] as const) for (const r of run.graph.resources) (types.get(r.type) ?? types.set(r.type, new Set()).get(r.type)!).add(name);
    });

    it("covers every resource type of dev and prod, with DNS on too", () => {
        const missing = [...types.keys()].filter((t) => !isLogicalOnly(t) && t !== AWSX_VPC.type && !REPLACEMENT_RULES[t]);
        assert.deepEqual(missing, [], `add these to tools/replacements/forceNew.ts: ${missing.join(", ")}`);
        assert.ok(types.size > 50, `${types.size} types`);
    });

    it("names only inputs that the installed @pulumi/aws resource has (top-level segment)", () => {
        const problems: string[] = [];
        for (const [type, rule] of Object.entries(REPLACEMENT_RULES)) {
            const { file, cls } = dtsFor(type);
            if (!fs.existsSync(file)) {
                problems.push(`${type}: no ${file}`);
                continue;
            }
            const args = argsOf(file, cls);
            for (const p of [...rule.forceNew, ...(rule.unverified ?? []), ...(rule.conditional ?? []).flatMap((c) => c.path.split("|")), ...(rule.physicalName ? [rule.physicalName] : [])]) {
                if (!args.has(p.split(".")[0])) problems.push(`${type}: ${p}`);
            }
        }
        const awsx = argsOf(dtsFor(AWSX_VPC.type).file, "Vpc");
        for (const p of [...AWSX_VPC.replacesVpc, ...AWSX_VPC.replacesSubnets, ...AWSX_VPC.changesNatGateways]) if (!awsx.has(p)) problems.push(`awsx Vpc: ${p}`);
        assert.deepEqual(problems, []);
    });

    it("records where it was read: provider version, upstream, and a commit for every verified rule", () => {
        assert.match(PROVIDER_SOURCE.pulumiAws, /^7\.48\.0/);
        const installed = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "node_modules/@pulumi/aws/package.json"), "utf8")).version;
        assert.ok(PROVIDER_SOURCE.pulumiAws.startsWith(installed), `table read for ${PROVIDER_SOURCE.pulumiAws}, installed ${installed}: re-derive it`);
        for (const [type, rule] of Object.entries(REPLACEMENT_RULES)) {
            // terraform-provider-aws keeps its resources in internal/service/, terraform-provider-random in internal/provider/.
            const dir = rule.repository === undefined ? "internal/service/" : "internal/provider/";
            if (rule.verified) assert.ok(rule.source && /^[0-9a-f]{40}$/.test(rule.source.commit) && rule.source.path.startsWith(dir), type);
            else assert.ok(rule.forceNew.length === 0, `${type}: unverified rules list their paths under "unverified"`);
        }
    });

    it("reads diff paths as schema paths: list indices, JSON documents and tags do not replace", () => {
        assert.equal(schemaPath("ebsBlockDevices[0].volumeSize"), "ebsBlockDevices.volumeSize");
        assert.equal(schemaPath("policy{json}.Statement[0].Action[1]"), "policy");
        const r = { urn: "u", type: "aws:ec2/instance:Instance", name: "i", inputs: { userDataReplaceOnChange: true } } as unknown as GraphResource;
        // aws_instance: root_block_device.encrypted is ForceNew, volume_size is not; tags never are.
        assert.deepEqual(forceNewTriggers(r, [{ path: "rootBlockDevice.encrypted" }]).map((t) => t.kind), ["force-new"]);
        assert.deepEqual(forceNewTriggers(r, [{ path: "rootBlockDevice.volumeSize" }, { path: "tags.Owner" }, { path: "instanceType" }]), []);
        // CustomizeDiff: user_data replaces only with user_data_replace_on_change.
        assert.deepEqual(forceNewTriggers(r, [{ path: "userData" }]).map((t) => t.kind), ["conditional"]);
        assert.deepEqual(forceNewTriggers({ ...r, inputs: {} }, [{ path: "userData" }]), []);
        // replaceOnChanges is Pulumi's own trigger.
        assert.deepEqual(forceNewTriggers({ ...r, inputs: {}, replaceOnChanges: ["instanceType"] } as GraphResource, [{ path: "instanceType" }]).map((t) => t.kind), ["replace-on-changes"]);
    });
});

describe("replacement table: create-only inputs read from terraform-provider-aws", () => {
    const res = (type: string, inputs: Record<string, unknown> = {}) => ({ urn: `u-${type}`, type, name: "r", inputs } as unknown as GraphResource);
    const kinds = (type: string, path: string, inputs: Record<string, unknown> = {}, base?: Record<string, unknown>) =>
        forceNewTriggers(res(type, inputs), [{ path }], base ? res(type, base) : undefined).map((t) => t.kind);

    // Each line cites the schema attribute read (file @ commit in tools/replacements/forceNew.ts). A path that
    // drops out of the table makes its line fail; a path that is updated in place must stay out of it.
    const replaces: Array<[string, string, string]> = [
        ["aws:rds/instance:Instance", "engine", "rds/instance.go: engine ForceNew"],
        ["aws:rds/instance:Instance", "kmsKeyId", "rds/instance.go: kms_key_id ForceNew"],
        ["aws:rds/instance:Instance", "storageEncrypted", "rds/instance.go: storage_encrypted ForceNew"],
        ["aws:rds/instance:Instance", "dbName", "rds/instance.go (v5, file 1659451291): db_name ForceNew"],
        ["aws:rds/instance:Instance", "backupTarget", "rds/instance.go (v5, file 1659451291): backup_target ForceNew"],
        ["aws:ec2/instance:Instance", "instanceMarketOptions", "ec2_instance.go (file 1794561789): instance_market_options ForceNew"],
        ["aws:ec2/instance:Instance", "launchTemplate.id", "ec2_instance.go: launch_template.id ForceNew"],
        ["aws:s3/bucket:Bucket", "bucket", "s3/bucket.go: bucket ForceNew"],
        ["aws:s3/bucket:Bucket", "objectLockEnabled", "s3/bucket.go: object_lock_enabled ForceNew"],
        ["aws:ec2/subnet:Subnet", "cidrBlock", "ec2/vpc_subnet.go: cidr_block ForceNew"],
        ["aws:ec2/subnet:Subnet", "vpcId", "ec2/vpc_subnet.go: vpc_id ForceNew"],
        ["aws:ec2/securityGroup:SecurityGroup", "vpcId", "ec2/vpc_security_group.go: vpc_id ForceNew"],
        ["aws:ec2/securityGroup:SecurityGroup", "name", "ec2/vpc_security_group.go: name ForceNew"],
        ["aws:lb/targetGroup:TargetGroup", "port", "elbv2/target_group.go: port ForceNew"],
        ["aws:lb/targetGroup:TargetGroup", "protocol", "elbv2/target_group.go: protocol ForceNew"],
        ["aws:lb/targetGroup:TargetGroup", "vpcId", "elbv2/target_group.go: vpc_id ForceNew"],
        ["aws:kms/key:Key", "customerMasterKeySpec", "kms/key.go: customer_master_key_spec ForceNew"],
        ["aws:kms/key:Key", "keyUsage", "kms/key.go: key_usage ForceNew"],
        ["aws:ec2/natGateway:NatGateway", "subnetId", "ec2/vpc_nat_gateway.go: subnet_id ForceNew"],
        ["aws:ec2/natGateway:NatGateway", "connectivityType", "ec2/vpc_nat_gateway.go: connectivity_type ForceNew"],
        ["aws:ec2/routeTable:RouteTable", "vpcId", "ec2/vpc_route_table.go: vpc_id ForceNew"],
        ["aws:ec2/route:Route", "destinationCidrBlock", "ec2/vpc_route.go: destination_cidr_block ForceNew"],
        ["aws:ec2/routeTableAssociation:RouteTableAssociation", "subnetId", "ec2/vpc_route_table_association.go: subnet_id ForceNew"],
        ["aws:ec2/launchTemplate:LaunchTemplate", "name", "ec2/ec2_launch_template.go: name ForceNew"],
        ["aws:autoscaling/group:Group", "name", "autoscaling/group.go: name ForceNew"],
        ["aws:iam/policy:Policy", "description", "iam/policy.go: description ForceNew"],
        ["aws:ebs/volume:Volume", "encrypted", "ec2/ebs_volume.go: encrypted ForceNew"],
        ["aws:ebs/volume:Volume", "kmsKeyId", "ec2/ebs_volume.go: kms_key_id ForceNew"],
        ["aws:acm/certificate:Certificate", "subjectAlternativeNames", "acm/certificate.go: subject_alternative_names ForceNew"],
        ["aws:route53/healthCheck:HealthCheck", "requestInterval", "route53/health_check.go: request_interval ForceNew"],
        ["aws:route53/keySigningKey:KeySigningKey", "hostedZoneId", "route53/key_signing_key.go: hosted_zone_id ForceNew"],
        ["aws:secretsmanager/secret:Secret", "name", "secretsmanager/secret.go: name ForceNew"],
        ["aws:secretsmanager/secretVersion:SecretVersion", "secretString", "secretsmanager/secret_version.go: secret_string ForceNew"],
        ["aws:sns/topicSubscription:TopicSubscription", "topic", "sns/topic_subscription.go: topic_arn ForceNew"],
        ["aws:cloudwatch/metricAlarm:MetricAlarm", "name", "cloudwatch/metric_alarm.go: alarm_name ForceNew"],
        ["aws:cloudwatch/compositeAlarm:CompositeAlarm", "actionsEnabled", "cloudwatch/composite_alarm.go: actions_enabled ForceNew"],
        ["aws:s3/bucketVersioning:BucketVersioning", "bucket", "s3/bucket_versioning.go: bucket ForceNew"],
        ["aws:dlm/lifecyclePolicy:LifecyclePolicy", "policyDetails.schedules[0].copyTags", "dlm/lifecycle_policy.go: schedule.copy_tags ForceNew"],
    ];
    const inPlace: Array<[string, string, string]> = [
        ["aws:rds/instance:Instance", "instanceClass", "rds/instance.go: instance_class modified in place"],
        ["aws:rds/instance:Instance", "allocatedStorage", "rds/instance.go: allocated_storage modified in place"],
        // Since v5 the identifier is renamed in place: Update sends ModifyDBInstance NewDBInstanceIdentifier
        // (RDS API Reference, "ModifyDBInstance": NewDBInstanceIdentifier, "the new identifier for the DB
        // instance when renaming a DB instance", https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html).
        ["aws:rds/instance:Instance", "identifier", "rds/instance.go (v5): identifier not ForceNew, NewDBInstanceIdentifier"],
        ["aws:rds/instance:Instance", "identifierPrefix", "rds/instance.go (v5): identifier_prefix not ForceNew"],
        ["aws:ec2/instance:Instance", "ipv6AddressCount", "ec2_instance.go (file 1794561789): ipv6_address_count not ForceNew"],
        ["aws:ec2/instance:Instance", "launchTemplate.version", "ec2_instance.go: launch_template.version only through CustomizeDiff"],
        ["aws:lb/listenerRule:ListenerRule", "priority", "elbv2/listener_rule.go: priority ForceNew: false"],
        ["aws:ec2/routeTableAssociation:RouteTableAssociation", "routeTableId", "vpc_route_table_association.go: route_table_id not ForceNew"],
        ["aws:ec2/internetGateway:InternetGateway", "vpcId", "vpc_internet_gateway.go: vpc_id detach/attach"],
        ["aws:ssm/document:Document", "documentType", "ssm/document.go: document_type not ForceNew"],
        ["aws:ec2/launchTemplate:LaunchTemplate", "instanceType", "ec2_launch_template.go: new version"],
        ["aws:secretsmanager/secret:Secret", "kmsKeyId", "secretsmanager/secret.go: kms_key_id via UpdateSecret"],
        ["aws:ebs/volume:Volume", "size", "ec2/ebs_volume.go: size via ModifyVolume"],
        ["aws:route53/keySigningKey:KeySigningKey", "keyManagementServiceArn", "key_signing_key.go: not ForceNew"],
    ];

    it("replaces on the create-only inputs the schemas mark ForceNew", () => {
        for (const [type, path, why] of replaces) assert.deepEqual(kinds(type, path), ["force-new"], `${type} ${path} (${why})`);
    });

    it("updates in place what the schemas do not mark ForceNew", () => {
        for (const [type, path, why] of inPlace) assert.deepEqual(kinds(type, path), [], `${type} ${path} (${why})`);
    });

    it("implements the EC2 instance's CustomizeDiff: an instance type of another CPU architecture replaces it", () => {
        const ec2 = "aws:ec2/instance:Instance";
        assert.deepEqual(kinds(ec2, "instanceType", { instanceType: "t3.micro" }, { instanceType: "t4g.micro" }), ["conditional"], "arm64 → x86_64");
        assert.deepEqual(kinds(ec2, "instanceType", { instanceType: "t4g.small" }, { instanceType: "t4g.micro" }), [], "same architecture: stop, modify, start");
        assert.deepEqual(kinds(ec2, "instanceType", { instanceType: "m7gd.large" }, { instanceType: "c6gn.large" }), []);
        assert.deepEqual(kinds(ec2, "enablePrimaryIpv6", { enablePrimaryIpv6: false }, { enablePrimaryIpv6: true }), ["conditional"]);
        assert.deepEqual(kinds(ec2, "enablePrimaryIpv6", { enablePrimaryIpv6: true }, { enablePrimaryIpv6: false }), []);
    });

    it("every rule read from a v4-era file was re-read from a newer stored version", () => {
        const stale = Object.entries(REPLACEMENT_RULES).filter(([, r]) => r.era === "v4" && !r.alsoRead).map(([t]) => t);
        assert.deepEqual(stale, []);
        // The RDS rule follows the newer file: identifier is no longer create-only, backup_target is.
        const rds = REPLACEMENT_RULES["aws:rds/instance:Instance"];
        assert.ok(!rds.forceNew.includes("identifier") && !rds.forceNew.includes("identifierPrefix") && rds.forceNew.includes("backupTarget"));
    });

    it("implements the NAT gateway's CustomizeDiff ForceNew cases", () => {
        const nat = "aws:ec2/natGateway:NatGateway";
        assert.deepEqual(kinds(nat, "secondaryPrivateIpAddressCount", { connectivityType: "private", secondaryPrivateIpAddressCount: 2 }, { connectivityType: "private", secondaryPrivateIpAddressCount: 1 }), ["conditional"]);
        assert.deepEqual(kinds(nat, "secondaryPrivateIpAddressCount", { connectivityType: "public" }, { connectivityType: "public" }), []);
        const regional = { availabilityMode: "regional" };
        assert.deepEqual(kinds(nat, "availabilityZoneAddresses", { ...regional, availabilityZoneAddresses: [{ availabilityZone: "a" }] }, { ...regional }), ["conditional"]);
        assert.deepEqual(kinds(nat, "availabilityZoneAddresses", { ...regional, availabilityZoneAddresses: [{ availabilityZone: "b" }] }, { ...regional, availabilityZoneAddresses: [{ availabilityZone: "a" }] }), []);
    });

    it("was read from source for every type but the CloudFront distribution (listed as not read)", () => {
        const notRead = Object.entries(REPLACEMENT_RULES).filter(([, r]) => !r.verified).map(([t]) => t);
        assert.deepEqual(notRead, ["aws:cloudfront/distribution:Distribution"]);
        for (const [type, rule] of Object.entries(REPLACEMENT_RULES)) if (rule.alsoRead) assert.ok(rule.verified && /source-index file \d+/.test(rule.alsoRead), type);
        assert.match(PROVIDER_SOURCE.upstream, /v6\.46\.0/);
    });
});

describe("price table regions", () => {
    it("prices the eight regions users deploy to, every figure with a source and a date", () => {
        for (const region of ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2"]) {
            const table = PRICES[region];
            assert.ok(table, region);
            // Route 53 is global: the same zone price wherever the stack runs.
            assert.equal(table["route53.zone.month"].usd, 0.5, region);
            for (const [key, price] of Object.entries(table)) assert.ok(price.source && /^\d{4}(-\d{2}){0,2}$/.test(price.date), `${region} ${key}`);
        }
        assert.equal(PRICES["eu-west-1"]["ipv4.hour"].verified, false, "carried, not checked per region");
    });
});
