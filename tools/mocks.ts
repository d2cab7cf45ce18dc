/**
 * Realistic answers for the offline engine: what AWS (through the provider) would return
 * for each resource and data-source call the program makes, so that the program's
 * `apply`s, ARNs and cross-references run exactly as they would in a deployment.
 *
 * Ids are derived from the resource's type and name, so two runs of the same program give
 * the same graph (the plan diff relies on that). An invoke this file does not know is an
 * error naming the token: a silent empty answer would hide a broken program.
 */
import { createHash } from "crypto";
import type { MockCallArgs, MockResourceArgs, MockResourceResult, Mocks } from "@pulumi/pulumi/runtime";

export const MOCK_ACCOUNT_ID = "123456789012";

function hex(seed: string, length: number): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

/** The AWS service and the ARN resource part for common resource types. */
function arnFor(type: string, name: string, id: string, region: string, inputs: Record<string, any>): string {
    const [, module] = type.split(":");
    const mod = module.split("/")[0];
    const a = (service: string, resource: string, global = false) =>
        `arn:aws:${service}:${global ? "" : region}:${service === "s3" ? "" : MOCK_ACCOUNT_ID}:${resource}`;
    switch (type) {
        case "aws:s3/bucket:Bucket":
            return `arn:aws:s3:::${inputs.bucket ?? id}`;
        case "aws:iam/role:Role":
            return `arn:aws:iam::${MOCK_ACCOUNT_ID}:role${inputs.path ?? "/"}${inputs.name ?? id}`;
        case "aws:iam/policy:Policy":
            return `arn:aws:iam::${MOCK_ACCOUNT_ID}:policy${inputs.path ?? "/"}${inputs.name ?? id}`;
        case "aws:iam/instanceProfile:InstanceProfile":
            return `arn:aws:iam::${MOCK_ACCOUNT_ID}:instance-profile${inputs.path ?? "/"}${inputs.name ?? id}`;
        case "aws:kms/key:Key":
            return a("kms", `key/${id}`);
        case "aws:sns/topic:Topic":
            return a("sns", inputs.name ?? id);
        case "aws:ssm/document:Document":
            return a("ssm", `document/${inputs.name ?? id}`);
        case "aws:ssm/parameter:Parameter":
            return a("ssm", `parameter${String(inputs.name ?? id).startsWith("/") ? "" : "/"}${inputs.name ?? id}`);
        case "aws:lb/loadBalancer:LoadBalancer":
            return a("elasticloadbalancing", `loadbalancer/app/${name}/${hex(id, 16)}`);
        case "aws:lb/targetGroup:TargetGroup":
            return a("elasticloadbalancing", `targetgroup/${name}/${hex(id, 16)}`);
        case "aws:lb/listener:Listener":
            return a("elasticloadbalancing", `listener/app/${name}/${hex(id, 16)}`);
        case "aws:rds/instance:Instance":
            return a("rds", `db:${inputs.identifier ?? id}`);
        case "aws:rds/subnetGroup:SubnetGroup":
            return a("rds", `subgrp:${inputs.name ?? id}`);
        case "aws:rds/parameterGroup:ParameterGroup":
            return a("rds", `pg:${inputs.name ?? id}`);
        case "aws:cloudwatch/logGroup:LogGroup":
            return a("logs", `log-group:${inputs.name ?? id}`);
        case "aws:acm/certificate:Certificate":
            return a("acm", `certificate/${hex(id, 8)}-${hex(id + "1", 4)}-${hex(id + "2", 4)}-${hex(id + "3", 4)}-${hex(id + "4", 12)}`);
        case "aws:cloudfront/distribution:Distribution":
            return `arn:aws:cloudfront::${MOCK_ACCOUNT_ID}:distribution/${id}`;
        case "aws:autoscaling/group:Group":
            return a("autoscaling", `autoScalingGroup:${hex(id, 8)}-${hex(id + "a", 4)}-${hex(id + "b", 4)}-${hex(id + "c", 4)}-${hex(id + "d", 12)}:autoScalingGroupName/${inputs.name ?? id}`);
        case "aws:route53/zone:Zone":
            return `arn:aws:route53:::hostedzone/${id}`;
        case "aws:dlm/lifecyclePolicy:LifecyclePolicy":
            return a("dlm", `policy/${id}`);
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            // IAM names an OIDC provider by its URL's host and path.
            return `arn:aws:iam::${MOCK_ACCOUNT_ID}:oidc-provider/${String(inputs.url ?? id).replace(/^https:\/\//, "")}`;
        default:
            return a(mod === "ec2" || mod === "vpc" ? "ec2" : mod, `${type.split(":").pop()!.toLowerCase()}/${id}`);
    }
}

/** Prefixes AWS uses for ids of common EC2-family resources. */
const ID_PREFIX: Record<string, string> = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/instance:Instance": "i-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/eipAssociation:EipAssociation": "eipassoc-",
    "aws:dlm/lifecyclePolicy:LifecyclePolicy": "policy-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
    "aws:kms/key:Key": "",
    "aws:route53/zone:Zone": "Z",
    "aws:cloudfront/distribution:Distribution": "E",
};

/** Ids whose shape is not a prefix plus hex, as the provider reports them. */
const uuid = (seed: string) => `${hex(seed, 8)}-${hex(seed + "a", 4)}-${hex(seed + "b", 4)}-${hex(seed + "c", 4)}-${hex(seed + "d", 12)}`;
const ID_FORMAT: Record<string, (seed: string, inputs: Record<string, any>) => string | undefined> = {
    "aws:route53/healthCheck:HealthCheck": uuid,
    "aws:route53/queryLog:QueryLog": uuid,
    "aws:cloudfront/originAccessControl:OriginAccessControl": (seed) => `E${hex(seed, 13).toUpperCase()}`,
    // Route 53 record ids: zone, name, type and (routing policies only) the set identifier.
    "aws:route53/record:Record": (_seed, inputs) =>
        typeof inputs.zoneId === "string" ? [inputs.zoneId, String(inputs.name).replace(/\.$/, ""), inputs.type, inputs.setIdentifier].filter(Boolean).join("_") : undefined,
    "aws:route53/keySigningKey:KeySigningKey": (_seed, inputs) => (typeof inputs.hostedZoneId === "string" ? `${inputs.hostedZoneId},${inputs.name}` : undefined),
    "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec": (_seed, inputs) => (typeof inputs.hostedZoneId === "string" ? inputs.hostedZoneId : undefined),
};

/** What one awsx VPC looks like to the rest of the program: ids per tier and route tables. */
interface MockVpc {
    vpcId: string;
    subnetsByTier: Record<"public" | "private" | "isolated", string[]>;
    routeTableBySubnet: Map<string, string>;
}

export class OfflineMocks implements Mocks {
    readonly vpcs: MockVpc[] = [];
    /** Region of each explicit provider by provider id (a second-region provider, e.g. for S3 replication). */
    private readonly providerRegions = new Map<string, string>();

    constructor(
        readonly region: string,
        /** Stack name: ids differ between stacks, as they would between deployments. */
        readonly stack: string,
        /** Values for `aws.ssm.getParameter` by name (others answer a plausible AMI id). */
        readonly ssmParameters: Record<string, string> = {},
        /**
         * Answer as the engine does during `pulumi preview`: a resource to be created has no id
         * and no provider-computed outputs yet, only its inputs.
         */
        readonly preview = false,
    ) {}

    newResource(args: MockResourceArgs): MockResourceResult {
        const { type, name, inputs } = args;
        if (type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:")) {
            if (type.startsWith("pulumi:providers:") && typeof inputs.region === "string") this.providerRegions.set(`${name}-provider-id`, inputs.region);
            return { id: type.startsWith("pulumi:providers:") ? `${name}-provider-id` : undefined, state: inputs };
        }
        if (this.preview && type !== "pulumi:pulumi:Stack" && !type.startsWith("pulumi:providers:")) {
            return { id: undefined, state: inputs };
        }
        if (type === "awsx:ec2:Vpc") {
            return { id: undefined, state: { ...inputs, ...this.awsxVpc(name, inputs) } };
        }
        if (!args.custom) {
            // A local component: its outputs are whatever it registers.
            return { id: undefined, state: inputs };
        }
        const seed = `${this.stack}::${type}::${name}`;
        const id = args.id || ID_FORMAT[type]?.(seed, inputs) || (ID_PREFIX[type] ?? "") + (type === "aws:route53/zone:Zone" ? hex(seed, 20).toUpperCase() : type === "aws:cloudfront/distribution:Distribution" ? hex(seed, 13).toUpperCase() : hex(seed, 17));
        // Pulumi auto-names resources that take a `name`: the logical name plus a random suffix.
        const named = { ...inputs, name: inputs.name ?? `${name}-${hex(seed, 7)}` };
        // Where the resource lives: its own `region` input, else its provider's region (the reference is `urn::id`).
        const region: string = inputs.region ?? this.providerRegions.get(String(args.provider ?? "").split("::").pop() ?? "") ?? this.region;
        const arn = arnFor(type, name, id, region, named);
        const state: Record<string, any> = { ...named, id, arn, tagsAll: { ...(inputs.tags ?? {}) } };
        Object.assign(state, this.typeSpecific(type, name, id, named, region));
        return { id, state };
    }

    private typeSpecific(type: string, name: string, id: string, inputs: Record<string, any>, region: string = this.region): Record<string, any> {
        switch (type) {
            case "aws:s3/bucket:Bucket": {
                const bucket = inputs.bucket ?? `${name}-${hex(id, 7)}`;
                return { bucket, id: bucket, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`, region };
            }
            case "aws:iam/role:Role":
            case "aws:iam/instanceProfile:InstanceProfile":
            case "aws:iam/policy:Policy":
                return { uniqueId: `AROA${hex(id, 17).toUpperCase()}` };
            case "aws:kms/key:Key":
                return { keyId: id };
            case "aws:ec2/launchTemplate:LaunchTemplate":
                return { latestVersion: 1, defaultVersion: 1 };
            case "aws:lb/loadBalancer:LoadBalancer":
                return { dnsName: `${name}-${hex(id, 9)}.${region}.elb.amazonaws.com`, zoneId: region === "ap-northeast-1" ? "Z14GRHDCWA56QT" : "Z35SXDOTRQ7X7K", arnSuffix: `app/${name}/${hex(id, 16)}` };
            case "aws:lb/targetGroup:TargetGroup":
                return { arnSuffix: `targetgroup/${name}/${hex(id, 16)}` };
            case "aws:rds/instance:Instance": {
                const identifier = inputs.identifier ?? name;
                const port = inputs.port ?? (String(inputs.engine).startsWith("postgres") ? 5432 : 3306);
                const address = `${identifier}.${hex(id, 12)}.${region}.rds.amazonaws.com`;
                return {
                    identifier,
                    address,
                    endpoint: `${address}:${port}`,
                    port,
                    resourceId: `db-${hex(id, 26).toUpperCase()}`,
                    masterUserSecrets: inputs.manageMasterUserPassword ? [{ secretArn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT_ID}:secret:rds!db-${hex(id, 8)}-${hex(id, 6)}`, secretStatus: "active", kmsKeyId: inputs.masterUserSecretKmsKeyId ?? "" }] : [],
                };
            }
            case "aws:route53/zone:Zone":
                return { zoneId: id, nameServers: [1, 2, 3, 4].map((n) => `ns-${parseInt(hex(id + n, 3), 16) % 2048}.awsdns-${n}${n}.${["com", "net", "org", "co.uk"][n - 1]}`) };
            case "aws:acm/certificate:Certificate": {
                const names: string[] = [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].filter(Boolean);
                return {
                    domainValidationOptions: names.map((domainName) => ({
                        domainName,
                        resourceRecordName: `_${hex(domainName, 32)}.${domainName}.`,
                        resourceRecordType: "CNAME",
                        resourceRecordValue: `_${hex(domainName + "v", 32)}.acm-validations.aws.`,
                    })),
                };
            }
            case "aws:cloudfront/distribution:Distribution":
                return { domainName: `${id.toLowerCase()}.cloudfront.net`, hostedZoneId: "Z2FDTNDATAQYW2" };
            case "aws:route53/record:Record":
                return { fqdn: String(inputs.name).replace(/\.$/, "").toLowerCase() };
            case "aws:route53/healthCheck:HealthCheck":
                return { arn: `arn:aws:route53:::healthcheck/${id}` };
            case "aws:route53/queryLog:QueryLog":
                return { arn: `arn:aws:route53:::queryloggingconfig/${id}` };
            case "aws:route53/keySigningKey:KeySigningKey": {
                const keyTag = parseInt(hex(id, 4), 16);
                const digest = hex(id + "ds", 64).toUpperCase();
                const publicKey = Buffer.from(hex(id + "pk", 64), "hex").toString("base64");
                return {
                    keyTag,
                    flag: 257,
                    publicKey,
                    signingAlgorithmMnemonic: "ECDSAP256SHA256",
                    signingAlgorithmType: 13,
                    digestAlgorithmMnemonic: "SHA-256",
                    digestAlgorithmType: 2,
                    digestValue: digest,
                    dsRecord: `${keyTag} 13 2 ${digest}`,
                    dnskeyRecord: `257 3 13 ${publicKey}`,
                };
            }
            case "aws:cloudfront/originAccessControl:OriginAccessControl":
                return { etag: `E${hex(id + "etag", 13).toUpperCase()}` };
            case "aws:ec2/vpcEndpoint:VpcEndpoint": {
                // A gateway endpoint exposes its service's AWS-managed prefix list (S3 in us-east-1: pl-63a5400a).
                if ((inputs.vpcEndpointType ?? "Gateway") !== "Gateway") return {};
                const service = String(inputs.serviceName ?? "");
                return { prefixListId: service === "com.amazonaws.us-east-1.s3" ? "pl-63a5400a" : `pl-${hex(`prefix-list::${service}`, 8)}` };
            }
            case "aws:ec2/instance:Instance":
                return { privateIp: `10.0.${parseInt(hex(id, 2), 16) % 250}.${parseInt(hex(id + "x", 2), 16) % 250}`, primaryNetworkInterfaceId: `eni-${hex(id, 17)}` };
            case "aws:ec2/eip:Eip":
                return { allocationId: id, publicIp: `203.0.113.${parseInt(hex(id, 2), 16) % 250}` };
            case "aws:ssm/document:Document":
                // A new document is version 1, and the default (what `$DEFAULT` runs).
                return { latestVersion: "1", defaultVersion: "1", documentVersion: "1", status: "Active", owner: MOCK_ACCOUNT_ID };
            case "aws:sns/topicSubscription:TopicSubscription":
                // A new e-mail subscription waits for the address to confirm it.
                return /^email/.test(String(inputs.protocol)) ? { pendingConfirmation: true, confirmationWasAuthenticated: false } : { pendingConfirmation: false };
            case "random:index/randomId:RandomId": {
                // What the random provider computes: byteLength random bytes in hex, decimal and base64.
                const bytes = Buffer.from(hex(id + "random", 2 * Number(inputs.byteLength ?? 8)), "hex");
                const b64Url = bytes.toString("base64url");
                return { id: b64Url, hex: bytes.toString("hex"), dec: BigInt(`0x${bytes.toString("hex")}`).toString(), b64Std: bytes.toString("base64"), b64Url };
            }
            case "aws:ssm/association:Association":
                return { associationId: `${hex(id, 8)}-${hex(id + "a", 4)}-${hex(id + "b", 4)}-${hex(id + "c", 4)}-${hex(id + "d", 12)}` };
            default:
                return {};
        }
    }

    /** Outputs of awsx's VPC: subnet ids per tier (the children awsx creates at deploy time). */
    private awsxVpc(name: string, inputs: Record<string, any>): Record<string, any> {
        const vpcId = `vpc-${hex(`${this.stack}::vpc::${name}`, 17)}`;
        const specs: Array<{ type: string; cidrBlocks?: string[]; name?: string }> = inputs.subnetSpecs ?? [{ type: "Public" }, { type: "Private" }];
        const azCount: number = inputs.numberOfAvailabilityZones ?? inputs.availabilityZoneNames?.length ?? 3;
        const vpc: MockVpc = { vpcId, subnetsByTier: { public: [], private: [], isolated: [] }, routeTableBySubnet: new Map() };
        const layout: any[] = [];
        for (const spec of specs) {
            const tier = String(spec.type).toLowerCase() as "public" | "private" | "isolated";
            for (let az = 0; az < azCount; az++) {
                const subnetId = `subnet-${hex(`${this.stack}::${name}::${tier}::${az}`, 17)}`;
                vpc.subnetsByTier[tier].push(subnetId);
                vpc.routeTableBySubnet.set(subnetId, `rtb-${hex(`${this.stack}::${name}::${tier}::${az}::rt`, 17)}`);
            }
            layout.push({ type: spec.type, cidrBlocks: spec.cidrBlocks, name: spec.name });
        }
        this.vpcs.push(vpc);
        return {
            vpcId,
            publicSubnetIds: vpc.subnetsByTier.public,
            privateSubnetIds: vpc.subnetsByTier.private,
            isolatedSubnetIds: vpc.subnetsByTier.isolated,
            subnetLayout: layout,
        };
    }

    call(args: MockCallArgs): Record<string, any> {
        const { token, inputs } = args;
        const region = this.region;
        switch (token) {
            case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                const letters = ["a", "b", "c", "d", "e", "f"];
                return { names: letters.map((l) => `${region}${l}`), zoneIds: letters.map((_, i) => `${region.replace(/-/g, "").slice(0, 4)}-az${i + 1}`), id: region, state: "available" };
            }
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: MOCK_ACCOUNT_ID, arn: `arn:aws:sts::${MOCK_ACCOUNT_ID}:assumed-role/deployer/session`, userId: "AROAEXAMPLE:session", id: MOCK_ACCOUNT_ID };
            case "aws:index/getRegion:getRegion":
                return { name: region, region, id: region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
            case "aws:ec2/getRouteTables:getRouteTables":
                return { ids: this.routeTables(inputs), vpcId: inputs.vpcId, id: region };
            case "aws:ssm/getParameter:getParameter": {
                const value = this.ssmParameters[inputs.name] ?? `ami-${hex(String(inputs.name), 17)}`;
                return { name: inputs.name, value, insecureValue: value, type: "String", arn: `arn:aws:ssm:${region}::parameter${inputs.name}`, version: 1, id: inputs.name };
            }
            case "aws:route53/getZone:getZone": {
                const zoneId = `Z${hex(`zone::${inputs.name}`, 20).toUpperCase()}`;
                return { zoneId, name: String(inputs.name).replace(/\.$/, ""), id: zoneId, nameServers: ["ns-1.awsdns-01.com"], privateZone: inputs.privateZone ?? false };
            }
            case "aws:elb/getServiceAccount:getServiceAccount":
                return { arn: "arn:aws:iam::127311923021:root", id: "127311923021" };
            default:
                throw new Error(`offline engine: no mock answer for the data source ${token}; add one to tools/mocks.ts`);
        }
    }

    /** Route tables whose associations match the `association.subnet-id` filter, like EC2 answers. */
    private routeTables(inputs: Record<string, any>): string[] {
        const vpc = this.vpcs.find((v) => v.vpcId === inputs.vpcId);
        if (!vpc) return [];
        const filter = (inputs.filters ?? []).find((f: any) => f.name === "association.subnet-id");
        const subnets: string[] = filter ? filter.values : [...vpc.routeTableBySubnet.keys()];
        return [...new Set(subnets.map((s) => vpc.routeTableBySubnet.get(s)).filter((x): x is string => !!x))];
    }
}
