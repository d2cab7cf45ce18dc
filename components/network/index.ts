import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { layoutSubnets, SubnetTier } from "./subnetLayout";
import { serviceTrustPolicy } from "../iam";

export interface NetworkArgs {
    /** The VPC's IPv4 range. @default `10.0.0.0/16` */
    cidrBlock?: string;
    /** Availability zones to spread every tier over (2 to 6). @default 2 */
    azCount?: number;
    /**
     * NAT gateways for egress from the private tier: `none`, `single` (one, a single point of
     * failure, cheap) or `onePerAz` (highly available). @default `single`
     */
    natGateways?: "none" | "single" | "onePerAz";
    /** Subnet prefix length per tier. @default public /24, private /20, isolated /24 */
    subnetMasks?: Record<SubnetTier, number>;
    /**
     * Interface endpoints for `ssm`, `ssmmessages` and `ec2messages`, so Session Manager and
     * Run Command work from private subnets without NAT. @default false
     */
    interfaceEndpoints?: boolean;
    /** How many zones get interface endpoint ENIs (each costs per hour). @default all zones */
    interfaceEndpointAzCount?: number;
    /** VPC flow logs to CloudWatch Logs. @default enabled, 30 days, ALL traffic */
    flowLogs?: { enabled: boolean; retentionDays: number; trafficType: "ALL" | "ACCEPT" | "REJECT" };
    /** Port the app tier listens on behind the load balancer. @default 8080 */
    appPort?: number;
    /** Port the database tier listens on. @default 5432 (PostgreSQL) */
    databasePort?: number;
    /** Extra tags for the resources created here. @default none */
    tags?: Record<string, string>;
    /**
     * Permissions boundary (a managed policy ARN) set on every IAM role created here: the most
     * those roles may ever do, whatever their own policies say (IAM User Guide, "Permissions
     * boundaries for IAM entities"). A deploy role that may create roles only with a boundary
     * (the CI bootstrap's) needs it. @default none
     */
    permissionsBoundary?: pulumi.Input<string>;
}

const DEFAULT_MASKS: Record<SubnetTier, number> = { public: 24, private: 20, isolated: 24 };
const SSM_ENDPOINT_SERVICES = ["ssm", "ssmmessages", "ec2messages"] as const;
const ANYWHERE_V4 = "0.0.0.0/0";
const ANYWHERE_V6 = "::/0";

/**
 * The stack's network: an awsx VPC with public, private and isolated tiers in every zone,
 * an S3 gateway endpoint on every private and isolated route table (instances reach S3
 * with no NAT gateway), optional SSM interface endpoints, flow logs, a default security
 * group with no rules, and one security group per tier that admits only the tier in front.
 */
export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly cidrBlock: string;
    readonly publicSubnetIds: pulumi.Output<string[]>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    readonly isolatedSubnetIds: pulumi.Output<string[]>;
    /** Route tables of the private and isolated subnets (those the S3 endpoint serves). */
    readonly privateRouteTableIds: pulumi.Output<string[]>;
    /** Subnet CIDRs per tier, one per zone, as laid out by `layoutSubnets`. */
    readonly subnetCidrs: Record<SubnetTier, string[]>;
    readonly s3EndpointId: pulumi.Output<string>;
    readonly loadBalancerSecurityGroupId: pulumi.Output<string>;
    readonly appSecurityGroupId: pulumi.Output<string>;
    readonly databaseSecurityGroupId: pulumi.Output<string>;
    /** Security group of the interface endpoints, when they are enabled. */
    readonly endpointSecurityGroupId?: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("platform:network:Network", name, {}, opts);

        const cidrBlock = args.cidrBlock ?? "10.0.0.0/16";
        const azCount = args.azCount ?? 2;
        const natGateways = args.natGateways ?? "single";
        const masks = args.subnetMasks ?? DEFAULT_MASKS;
        const appPort = args.appPort ?? 8080;
        const databasePort = args.databasePort ?? 5432;
        const tags = args.tags ?? {};
        const layout = layoutSubnets(cidrBlock, azCount, masks);
        if (Array.isArray(layout)) {
            throw new Error(`Network "${name}": ${layout.join("; ")}`);
        }
        if (azCount < 2) {
            throw new Error(`Network "${name}": azCount must be at least 2 (a load balancer and an RDS subnet group need two zones)`);
        }
        const endpointZones = args.interfaceEndpointAzCount ?? azCount;
        if (endpointZones < 1 || endpointZones > azCount) {
            throw new Error(`Network "${name}": interfaceEndpointAzCount must be between 1 and azCount (${azCount})`);
        }
        this.cidrBlock = cidrBlock;
        this.subnetCidrs = layout.tiers;

        const vpc = new awsx.ec2.Vpc(
            name,
            {
                cidrBlock,
                numberOfAvailabilityZones: azCount,
                enableDnsHostnames: true,
                enableDnsSupport: true,
                natGateways: { strategy: natGateways === "none" ? "None" : natGateways === "single" ? "Single" : "OnePerAz" },
                // Explicit CIDRs: the layout was validated above and the plan shows every subnet.
                subnetStrategy: "Auto",
                subnetSpecs: [
                    { type: "Public", name: "public", cidrBlocks: layout.tiers.public },
                    { type: "Private", name: "private", cidrBlocks: layout.tiers.private },
                    { type: "Isolated", name: "isolated", cidrBlocks: layout.tiers.isolated },
                ],
                tags: { ...tags, Name: name },
            },
            { parent: this },
        );
        this.vpcId = vpc.vpcId;
        this.publicSubnetIds = vpc.publicSubnetIds;
        this.privateSubnetIds = vpc.privateSubnetIds;
        this.isolatedSubnetIds = vpc.isolatedSubnetIds;

        // awsx makes one route table per subnet. Looking them up by subnet association (after
        // the VPC component, so the associations exist) finds exactly the private and isolated
        // ones; at preview the subnet ids are unknown and so, correctly, is the list.
        const region = aws.getRegionOutput({}, { parent: this }).region;
        this.privateRouteTableIds = aws.ec2
            .getRouteTablesOutput(
                {
                    vpcId: vpc.vpcId,
                    filters: [{ name: "association.subnet-id", values: pulumi.all([vpc.privateSubnetIds, vpc.isolatedSubnetIds]).apply(([priv, iso]) => [...priv, ...iso]) }],
                },
                { parent: this, dependsOn: [vpc] },
            )
            .ids.apply((ids) => [...ids].sort());
        const s3Endpoint = new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: vpc.vpcId,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: this.privateRouteTableIds,
                tags: { ...tags, Name: `${name}-s3` },
            },
            { parent: this },
        );
        this.s3EndpointId = s3Endpoint.id;

        // No rules at all: anything that lands in the default group by mistake is cut off.
        new aws.ec2.DefaultSecurityGroup(`${name}-default`, { vpcId: vpc.vpcId, ingress: [], egress: [], tags: { ...tags, Name: `${name}-default-locked` } }, { parent: this });

        const securityGroup = (tier: string, description: string) =>
            new aws.ec2.SecurityGroup(`${name}-${tier}`, { vpcId: vpc.vpcId, description, tags: { ...tags, Name: `${name}-${tier}` } }, { parent: this });
        const alb = securityGroup("alb", "Load balancer: HTTP and HTTPS from the internet");
        const app = securityGroup("app", "App tier: the app port from the load balancer only");
        const db = securityGroup("db", "Database tier: the engine port from the app tier only");
        this.loadBalancerSecurityGroupId = alb.id;
        this.appSecurityGroupId = app.id;
        this.databaseSecurityGroupId = db.id;

        const ingress = (rule: string, args: aws.vpc.SecurityGroupIngressRuleArgs) => new aws.vpc.SecurityGroupIngressRule(`${name}-${rule}`, { ...args, tags }, { parent: this });
        const egress = (rule: string, args: aws.vpc.SecurityGroupEgressRuleArgs) => new aws.vpc.SecurityGroupEgressRule(`${name}-${rule}`, { ...args, tags }, { parent: this });
        for (const port of [80, 443]) {
            ingress(`alb-in-${port}-v4`, { securityGroupId: alb.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: ANYWHERE_V4, description: `HTTP${port === 443 ? "S" : ""} from anywhere` });
            ingress(`alb-in-${port}-v6`, { securityGroupId: alb.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv6: ANYWHERE_V6, description: `HTTP${port === 443 ? "S" : ""} from anywhere (IPv6)` });
        }
        egress("alb-out-app", { securityGroupId: alb.id, ipProtocol: "tcp", fromPort: appPort, toPort: appPort, referencedSecurityGroupId: app.id, description: "To the app tier" });
        ingress("app-in-alb", { securityGroupId: app.id, ipProtocol: "tcp", fromPort: appPort, toPort: appPort, referencedSecurityGroupId: alb.id, description: "From the load balancer" });
        // HTTPS out: SSM, S3 (through the gateway endpoint) and the OS package repositories.
        egress("app-out-https", { securityGroupId: app.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: ANYWHERE_V4, description: "HTTPS to AWS APIs and package repositories" });
        // HTTP to S3 only (the region's S3 prefix list, the gateway endpoint's): before each command-output
        // upload the SSM agent looks the bucket's region up with a plain-HTTP HEAD
        // (amazon-ssm-agent agent/s3util: GetS3Header tries http:// first, with retries, then https://);
        // with 443 alone every upload first waits for those connections to time out.
        egress("app-out-s3-http", { securityGroupId: app.id, ipProtocol: "tcp", fromPort: 80, toPort: 80, prefixListId: s3Endpoint.prefixListId, description: "HTTP to S3 only: the SSM agent's bucket-region lookup" });
        egress("app-out-db", { securityGroupId: app.id, ipProtocol: "tcp", fromPort: databasePort, toPort: databasePort, referencedSecurityGroupId: db.id, description: "To the database tier" });
        ingress("db-in-app", { securityGroupId: db.id, ipProtocol: "tcp", fromPort: databasePort, toPort: databasePort, referencedSecurityGroupId: app.id, description: "From the app tier" });

        if (args.interfaceEndpoints) {
            const endpointSg = securityGroup("endpoints", "Interface endpoints: HTTPS from inside the VPC");
            this.endpointSecurityGroupId = endpointSg.id;
            ingress("endpoints-in-https", { securityGroupId: endpointSg.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: cidrBlock, description: "HTTPS from the VPC" });
            const endpointSubnets = vpc.privateSubnetIds.apply((ids) => ids.slice(0, endpointZones));
            for (const service of SSM_ENDPOINT_SERVICES) {
                new aws.ec2.VpcEndpoint(
                    `${name}-${service}`,
                    {
                        vpcId: vpc.vpcId,
                        serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
                        vpcEndpointType: "Interface",
                        privateDnsEnabled: true,
                        subnetIds: endpointSubnets,
                        securityGroupIds: [endpointSg.id],
                        tags: { ...tags, Name: `${name}-${service}` },
                    },
                    { parent: this },
                );
            }
        }

        const flowLogs = args.flowLogs ?? { enabled: true, retentionDays: 30, trafficType: "ALL" as const };
        if (flowLogs.enabled) {
            this.createFlowLogs(name, vpc.vpcId, flowLogs, tags, args.permissionsBoundary);
        }

        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
            isolatedSubnetIds: this.isolatedSubnetIds,
            privateRouteTableIds: this.privateRouteTableIds,
            s3EndpointId: this.s3EndpointId,
            loadBalancerSecurityGroupId: this.loadBalancerSecurityGroupId,
            appSecurityGroupId: this.appSecurityGroupId,
            databaseSecurityGroupId: this.databaseSecurityGroupId,
        });
    }

    private createFlowLogs(name: string, vpcId: pulumi.Output<string>, flowLogs: NonNullable<NetworkArgs["flowLogs"]>, tags: Record<string, string>, permissionsBoundary?: pulumi.Input<string>): void {
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, { retentionInDays: flowLogs.retentionDays, tags }, { parent: this });
        const role = new aws.iam.Role(
            `${name}-flow-logs`,
            {
                description: "VPC flow logs delivery to CloudWatch Logs",
                assumeRolePolicy: serviceTrustPolicy("vpc-flow-logs.amazonaws.com", { sourceAccount: account }),
                permissionsBoundary,
                tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-flow-logs`,
            {
                role: role.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:*`],
                        },
                    ],
                }),
            },
            { parent: this },
        );
        new aws.ec2.FlowLog(
            `${name}-flow-logs`,
            { vpcId, trafficType: flowLogs.trafficType, logDestinationType: "cloud-watch-logs", logDestination: logGroup.arn, iamRoleArn: role.arn, maxAggregationInterval: 600, tags },
            { parent: this },
        );
    }
}
