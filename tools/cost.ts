/**
 * Offline monthly cost estimate of a plan's resource graph, from the price table in
 * `tools/prices.ts`. Pure: no network, no AWS account; the same graph gives the same figure.
 *
 * It prices what is fixed by the graph itself (hours of NAT gateways, endpoints, load
 * balancers, instances and databases; provisioned storage; per-resource monthly fees) plus
 * the configured expectations for S3 and CloudFront. Everything that depends on traffic or
 * growth is listed in `assumptions` instead of being silently left out, and so is every
 * resource whose price the table lacks for the region.
 */
import { CostEstimate, CostItem, COMPUTED, Graph, GraphResource, UnpricedCharge } from "./graph";
import { HOURS_PER_MONTH, Price, PRICES } from "./prices";

export interface CostOptions {
    /** AWS region whose prices apply. */
    region: string;
    /** Expected S3 Standard data across the stack's buckets (GB-month). */
    s3ExpectedGb: number;
    /** Expected CloudFront transfer out (GB per month). */
    cloudFrontGbPerMonth: number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const asNumber = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && v !== "" && !isNaN(Number(v)) ? Number(v) : undefined);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** The region the program's AWS provider targets (`aws:region`), else the exported `region`. */
export function graphRegion(graph: Graph, fallback = "us-east-1"): string {
    const provider = graph.resources.find((r) => r.type === "pulumi:providers:aws" && typeof r.inputs.region === "string");
    if (provider) return provider.inputs.region as string;
    return typeof graph.outputs.region === "string" ? graph.outputs.region : fallback;
}

export function estimateCost(graph: Graph, options: CostOptions): CostEstimate {
    const table = PRICES[options.region] ?? {};
    const items: CostItem[] = [];
    const assumptions: string[] = [];
    const notPricedReasons: string[] = [];
    const unpriced: UnpricedCharge[] = [];
    /** Records a charge that could not be priced: `r` is whose it is, `key` what (a price key or a short kind). */
    const notPriced = {
        add: (reason: string, r: { urn: string }, key: string) => {
            if (!unpriced.some((u) => u.urn === r.urn && u.key === key && u.reason === reason)) unpriced.push({ urn: r.urn, key, reason });
            if (!notPricedReasons.includes(reason)) notPricedReasons.push(reason);
        },
    };
    const usedUnverified = new Set<string>();
    const stack = graph.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const stackRef = { urn: stack?.urn ?? `urn:pulumi:${graph.stack}::${graph.project}::pulumi:pulumi:Stack::${graph.project}-${graph.stack}`, type: "pulumi:pulumi:Stack", name: `${graph.project}-${graph.stack}` };

    if (!PRICES[options.region]) assumptions.push(`No prices for region ${options.region} in tools/prices.ts: nothing is estimated (known regions: ${Object.keys(PRICES).join(", ")}).`);

    /** Adds a line, or records why it could not be priced. `perHour` prices are turned into months. */
    const add = (r: { urn: string; type: string; name: string }, key: string, description: string, quantity: number, unit: string, perHour = false) => {
        if (quantity <= 0) return;
        const price: Price | undefined = table[key];
        if (!price) {
            notPriced.add(`${description} (${r.type} "${r.name}", price key ${key}) is not estimated: no price for ${options.region} in tools/prices.ts.`, r, key);
            return;
        }
        if (!price.verified) usedUnverified.add(key);
        const unitUsd = perHour ? round2(price.usd * HOURS_PER_MONTH * 10000) / 10000 : price.usd;
        items.push({ urn: r.urn, type: r.type, name: r.name, description, quantity, unit, unitUsd, monthlyUsd: round2(quantity * unitUsd), priceKey: key });
    };

    const byId = new Map<string, GraphResource>();
    for (const r of graph.resources) if (r.id) byId.set(r.id, r);
    const byUrn = new Map(graph.resources.map((r) => [r.urn, r]));

    for (const r of graph.resources) {
        const i = r.inputs;
        switch (r.type) {
            case "awsx:ec2:Vpc": {
                const zones = asNumber(i.numberOfAvailabilityZones) ?? asArray(i.availabilityZoneNames).length;
                const azs = zones > 0 ? zones : 3; // awsx's default
                const strategy = (obj(i.natGateways).strategy as string | undefined) ?? "OnePerAz";
                const nats = strategy === "None" ? 0 : strategy === "Single" ? 1 : azs;
                add(r, "nat.hour", `NAT gateway hours (${strategy}, ${azs} AZ)`, nats, "gateway-month (730 h)", true);
                add(r, "ipv4.hour", "public IPv4 address of each NAT gateway", nats, "address-month (730 h)", true);
                break;
            }
            case "aws:ec2/natGateway:NatGateway":
                if (i.connectivityType !== "private") add(r, "nat.hour", "NAT gateway hours", 1, "gateway-month (730 h)", true);
                break;
            case "aws:ec2/eip:Eip":
                add(r, "ipv4.hour", "Elastic IP (public IPv4)", 1, "address-month (730 h)", true);
                break;
            case "aws:ec2/vpcEndpoint:VpcEndpoint": {
                const kind = (i.vpcEndpointType as string | undefined) ?? "Gateway";
                if (kind === "Interface") {
                    const subnets = i.subnetIds;
                    if (subnets === COMPUTED || (Array.isArray(subnets) && subnets.includes(COMPUTED))) {
                        notPriced.add(`interface endpoint ${i.serviceName} ("${r.name}"): its subnets are unknown until deploy (--preview), so its per-AZ hours are not estimated.`, r, "vpce.interface.azHour");
                        break;
                    }
                    add(r, "vpce.interface.azHour", `interface endpoint ${i.serviceName} (per AZ)`, asArray(subnets).length || 1, "AZ-month (730 h)", true);
                } else if (kind === "Gateway") {
                    add(r, "vpce.gateway.month", `gateway endpoint ${i.serviceName ?? ""} (no charge)`, 1, "endpoint-month");
                } else {
                    notPriced.add(`${kind} VPC endpoint "${r.name}" is not estimated.`, r, `vpce.${kind}`);
                }
                break;
            }
            case "aws:lb/loadBalancer:LoadBalancer": {
                const lbType = (i.loadBalancerType as string | undefined) ?? "application";
                if (lbType !== "application") {
                    notPriced.add(`${lbType} load balancer "${r.name}" is not estimated (only Application Load Balancers are in the price table).`, r, `lb.${lbType}`);
                    break;
                }
                add(r, "alb.hour", "Application Load Balancer hours", 1, "ALB-month (730 h)", true);
                if (i.internal !== true) {
                    if (i.subnets === COMPUTED || (Array.isArray(i.subnets) && i.subnets.includes(COMPUTED))) {
                        notPriced.add(`load balancer "${r.name}": its subnets are unknown until deploy (--preview), so its public IPv4 addresses (one per zone) are not estimated.`, r, "ipv4.hour");
                        break;
                    }
                    const zones = asArray(i.subnets).length || asArray(i.subnetMappings).length;
                    add(r, "ipv4.hour", "public IPv4 address of the ALB in each zone", zones, "address-month (730 h)", true);
                }
                break;
            }
            case "aws:autoscaling/group:Group": {
                const count = asNumber(i.desiredCapacity) ?? asNumber(i.minSize) ?? 0;
                const lt = launchTemplateOf(r, byId, byUrn);
                if (!lt) {
                    notPriced.add(`Auto Scaling group "${r.name}": no launch template found in the graph (mixed instances policy or launch configuration?): its instances are not estimated.`, r, "ec2.instances");
                    break;
                }
                const type = lt.inputs.instanceType;
                if (typeof type !== "string" || type === COMPUTED) {
                    notPriced.add(`Auto Scaling group "${r.name}": the launch template sets no instance type: its instances are not estimated.`, r, "ec2.instances");
                    break;
                }
                add(r, `ec2.${type}.hour`, `EC2 ${type} × desired capacity`, count, "instance-month (730 h)", true);
                addLaunchTemplateVolumes(r, lt, count);
                if (asNumber(i.maxSize) !== undefined && (asNumber(i.maxSize) as number) > count) {
                    assumptions.push(`Auto Scaling group "${r.name}" is priced at its desired capacity (${count}); scaling out to its maximum (${asNumber(i.maxSize)}) costs more while it lasts.`);
                }
                break;
            }
            case "aws:ec2/instance:Instance": {
                const type = i.instanceType;
                if (typeof type === "string" && type !== COMPUTED) add(r, `ec2.${type}.hour`, `EC2 ${type}`, 1, "instance-month (730 h)", true);
                else notPriced.add(`EC2 instance "${r.name}": instance type unknown at plan time: not estimated.`, r, "ec2.instances");
                const root = obj(i.rootBlockDevice);
                const size = asNumber(root.volumeSize);
                const volumeType = (root.volumeType as string | undefined) ?? "gp3";
                if (size !== undefined && volumeType === "gp3") add(r, "ebs.gp3.gbMonth", "EBS gp3 root volume", size, "GB-month");
                else notPriced.add(`EC2 instance "${r.name}": root volume ${size === undefined ? "size comes from the AMI" : `type ${volumeType}`}: not estimated.`, r, "ebs.root");
                if (i.associatePublicIpAddress === true) add(r, "ipv4.hour", "auto-assigned public IPv4 address", 1, "address-month (730 h)", true);
                break;
            }
            case "aws:rds/instance:Instance": {
                const engine = String(i.engine ?? "unknown");
                const cls = String(i.instanceClass ?? "unknown");
                const multiAz = i.multiAz === true;
                const az = multiAz ? "multiAz" : "singleAz";
                add(r, `rds.${engine}.${cls}.${az}.hour`, `RDS ${engine} ${cls} ${multiAz ? "Multi-AZ" : "single-AZ"}`, 1, "instance-month (730 h)", true);
                const storageType = (i.storageType as string | undefined) ?? "gp2";
                const gb = asNumber(i.allocatedStorage) ?? 0;
                if (storageType === "gp3") add(r, `rds.gp3.${az}.gbMonth`, `RDS gp3 storage${multiAz ? " (Multi-AZ: two copies)" : ""}`, gb, "GB-month");
                else notPriced.add(`RDS "${r.name}": ${storageType} storage (${gb} GB) is not estimated.`, r, "rds.storage");
                if (i.manageMasterUserPassword === true) add(r, "secretsmanager.secret.month", "RDS-managed master user secret (Secrets Manager)", 1, "secret-month");
                if (asNumber(i.maxAllocatedStorage) !== undefined) assumptions.push(`RDS "${r.name}" is priced at its allocated storage (${gb} GB); storage autoscaling up to ${asNumber(i.maxAllocatedStorage)} GB costs more as it grows.`);
                break;
            }
            case "aws:secretsmanager/secret:Secret":
                add(r, "secretsmanager.secret.month", "Secrets Manager secret", 1, "secret-month");
                break;
            case "aws:kms/key:Key":
                add(r, "kms.key.month", "KMS customer managed key", 1, "key-month");
                break;
            case "aws:route53/zone:Zone":
                add(r, "route53.zone.month", `Route 53 ${asArray(i.vpcs).length > 0 ? "private" : "public"} hosted zone`, 1, "zone-month");
                break;
            case "aws:route53/healthCheck:HealthCheck":
                // The stack's health checks target its own load balancer or CloudFront: AWS endpoints.
                add(r, "route53.healthCheck.aws.month", "Route 53 health check (AWS endpoint)", 1, "health-check-month");
                if (i.measureLatency === true || asNumber(i.requestInterval) === 10 || String(i.type ?? "").includes("STR_MATCH")) {
                    assumptions.push(`Route 53 health check "${r.name}" uses optional features (fast interval, latency or string matching), charged extra per feature: not estimated.`);
                }
                break;
            case "aws:cloudwatch/metricAlarm:MetricAlarm":
                add(r, "cloudwatch.alarm.month", "CloudWatch alarm (standard resolution)", 1, "alarm-month");
                break;
            case "aws:cloudwatch/dashboard:Dashboard":
                add(r, "cloudwatch.dashboard.month", "CloudWatch dashboard", 1, "dashboard-month");
                assumptions.push("CloudWatch dashboards are priced at list price; the first three per account are free.");
                break;
            case "aws:budgets/budget:Budget":
                add(r, "budgets.budget.month", "AWS Budgets budget (first two per account free)", 1, "budget-month");
                break;
            case "aws:cloudfront/distribution:Distribution":
                add(r, "cloudfront.gbOut", "CloudFront transfer out (config cost.cloudFrontGbPerMonth)", options.cloudFrontGbPerMonth, "GB");
                assumptions.push(`CloudFront "${r.name}": requests and origin transfer are not estimated; transfer out is priced at the first-10-TB rate for ${options.cloudFrontGbPerMonth} GB.`);
                break;
        }
    }

    const buckets = graph.resources.filter((r) => r.type === "aws:s3/bucket:Bucket");
    if (buckets.length > 0) {
        add(stackRef, "s3.standard.gbMonth", `S3 Standard storage across ${buckets.length} bucket(s) (config cost.s3ExpectedGb)`, options.s3ExpectedGb, "GB-month");
        assumptions.push("S3: all expected data is priced as Standard; lifecycle transitions to Standard-IA/Glacier lower it, noncurrent versions and requests raise it (not estimated).");
    }

    const has = (type: string) => graph.resources.some((r) => r.type === type);
    const usage: Array<[boolean, string]> = [
        [items.some((x) => x.description.startsWith("NAT gateway")) || has("aws:ec2/natGateway:NatGateway"), "NAT gateway data processing (per GB) is usage-based: not estimated."],
        [has("aws:ec2/vpcEndpoint:VpcEndpoint") && items.some((x) => x.description.startsWith("interface endpoint")), "Interface endpoint data processing (per GB) is usage-based: not estimated."],
        [has("aws:lb/loadBalancer:LoadBalancer"), "Load balancer capacity units (LCU-hours) are usage-based: not estimated (one LCU is roughly $5.84/month)."],
        [has("aws:ec2/flowLog:FlowLog"), "VPC flow logs delivery and storage are usage-based: not estimated."],
        [has("aws:cloudwatch/logGroup:LogGroup") || has("aws:rds/instance:Instance"), "CloudWatch Logs ingestion and storage (flow logs, RDS log exports, SSM command output) are usage-based: not estimated."],
        [graph.resources.some((r) => r.type.startsWith("aws:ssm/")), "SSM Run Command, State Manager and Automation on AWS-owned steps are free; Automation beyond the free tier and Parameter Store advanced parameters are not estimated."],
        [has("aws:dlm/lifecyclePolicy:LifecyclePolicy") || has("aws:ssm/association:Association"), "Snapshot, AMI and backup storage grows with retention and change rate: not estimated."],
        [has("aws:rds/instance:Instance"), "RDS backup storage beyond the allocated size, Performance Insights beyond the free tier and enhanced monitoring logs are not estimated."],
        [has("aws:sns/topic:Topic"), "SNS deliveries (e-mail notifications beyond the free tier) are usage-based: not estimated."],
        [true, "Data transfer out to the internet and between AZs is usage-based: not estimated."],
        [true, "S3, Secrets Manager and KMS requests/API calls are usage-based: not estimated."],
    ];
    for (const [applies, text] of usage) if (applies) assumptions.push(text);
    assumptions.push(...notPricedReasons);

    if (usedUnverified.size > 0) assumptions.push(`Prices used but not verified against AWS for ${options.region}: ${[...usedUnverified].join(", ")} (see tools/prices.ts).`);
    assumptions.push(`On-demand list prices for ${options.region}, ${HOURS_PER_MONTH} hours a month, no free tier, savings plans, reservations or taxes.`);

    return {
        monthlyUsd: round2(items.reduce((sum, x) => sum + x.monthlyUsd, 0)),
        items,
        assumptions,
        region: options.region,
        notPriced: notPricedReasons,
        complete: notPricedReasons.length === 0,
        unpriced,
    };

    function addLaunchTemplateVolumes(group: GraphResource, lt: GraphResource, count: number) {
        const mappings = asArray(lt.inputs.blockDeviceMappings).map(obj);
        if (mappings.length === 0) {
            notPriced.add(`Launch template "${lt.name}" sets no block device: the root volume size comes from the AMI and is not estimated.`, group, "ebs.launchTemplate");
            return;
        }
        for (const m of mappings) {
            const ebs = obj(m.ebs);
            const size = asNumber(ebs.volumeSize);
            const volumeType = (ebs.volumeType as string | undefined) ?? "gp3";
            if (size === undefined || volumeType !== "gp3") {
                notPriced.add(`Launch template "${lt.name}" device ${m.deviceName}: ${size === undefined ? "size from the AMI" : `${volumeType} volume`}: not estimated.`, group, "ebs.launchTemplate");
                continue;
            }
            add(group, "ebs.gp3.gbMonth", `EBS gp3 ${m.deviceName ?? "volume"} ${size} GB × ${count} instance(s)`, size * count, "GB-month");
        }
    }
}

/** The launch template an Auto Scaling group launches from: by id, else by the URN its input came from. */
function launchTemplateOf(group: GraphResource, byId: Map<string, GraphResource>, byUrn: Map<string, GraphResource>): GraphResource | undefined {
    const ref = obj(group.inputs.launchTemplate);
    const id = typeof ref.id === "string" ? ref.id : undefined;
    const found = id ? byId.get(id) : undefined;
    if (found && found.type === "aws:ec2/launchTemplate:LaunchTemplate") return found;
    for (const urn of group.propertyDependencies.launchTemplate ?? []) {
        const r = byUrn.get(urn);
        if (r?.type === "aws:ec2/launchTemplate:LaunchTemplate") return r;
    }
    return undefined;
}
