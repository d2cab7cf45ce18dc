/**
 * Route 53 for a stack: the public zone and the TLS certificate (`PublicZone`), and the
 * records, private zone, health check, failover and maintenance page (`Dns`).
 *
 * Why two components: the web tier's HTTPS listener needs the validated certificate, and the
 * alias records need the web tier's load balancer. One component would have to sit both
 * before and after the web tier. So `PublicZone` (zone + certificate + validation) is
 * created BEFORE the web tier and hands it `certificateArn`, and `Dns` is created AFTER the
 * web tier (and the database) and points names at them. Neither needs the other's
 * resources, only `PublicZone`'s outputs flow into `Dns`.
 *
 * Resources Route 53 or CloudFront require in us-east-1 (the DNSSEC KMS key, the query-log
 * log group and its resource policy, the CloudFront certificate, the alarm on the
 * `AWS/Route53` metrics) use a us-east-1 `aws.Provider` that each component creates as its
 * own child; every other resource uses the provider the component was given.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PrivateBucket } from "./bucket";
import { isDnsName } from "./dnsNames";

export { isDnsLabel, isDnsName } from "./dnsNames";

/** CloudFront's managed "CachingOptimized" cache policy. */
export const CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6";
/** The hosted zone id of every CloudFront distribution, as an alias target. */
export const CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2";
export const MAINTENANCE_PAGE_KEY = "maintenance.html";
const US_EAST_1 = "us-east-1";

/** The names a stack serves: the domain itself and `www.` under it. */
export function siteNames(domainName: string): [string, string] {
    return [domainName, `www.${domainName}`];
}

/** A provider for us-east-1 (Route 53 DNSSEC keys, query logs, CloudFront certificates, Route 53 metrics). */
function usEast1Provider(name: string, parent: pulumi.Resource, tags: Record<string, string>): aws.Provider {
    // The stack provider's default tags do not reach a second provider: give them again.
    return new aws.Provider(`${name}-${US_EAST_1}`, { region: US_EAST_1, ...(Object.keys(tags).length > 0 ? { defaultTags: { tags } } : {}) }, { parent });
}

export interface PublicZoneArgs {
    /** The stack's domain, e.g. `dev.example.com` (apex and `www.` get the certificate). Required. */
    domainName: string;
    /** The stack's region (`aws:region`): a second certificate is made in us-east-1 for CloudFront when it differs. Required. */
    region: string;
    /**
     * Create the public zone (and export its name servers, to delegate from the parent zone)
     * or look up an existing public zone of that name. @default true
     */
    createZone?: boolean;
    /** DNSSEC signing with a KMS key (ECC_NIST_P256, SIGN_VERIFY) in us-east-1. @default false */
    dnssec?: boolean;
    /** Query logging to the CloudWatch log group `/aws/route53/<domain>` in us-east-1. @default false */
    queryLogging?: boolean;
    /** Retention of the query logs, in days. @default 30 */
    queryLogRetentionDays?: number;
    /** Also make a certificate usable by CloudFront (us-east-1), for the maintenance page. @default false */
    cloudFrontCertificate?: boolean;
    /** Protect the zone and the DNSSEC key from deletion (prod). @default false */
    protect?: boolean;
    /**
     * How long `pulumi up` waits for ACM to validate the certificate (a Pulumi duration such as
     * "45m"). A new zone validates only once the parent domain delegates to it. @default "45m"
     */
    certificateValidationTimeout?: string;
    /** Tags for the resources made here; also the us-east-1 provider's default tags. @default none */
    tags?: Record<string, string>;
}

/** How long `pulumi up` waits for certificate validation by default. */
export const CERTIFICATE_VALIDATION_TIMEOUT = "45m";

/**
 * The stack's public hosted zone and its certificate: created before the web tier, whose
 * HTTPS listener takes `certificateArn`.
 *
 * With `createZone`, the zone is new and ACM can only validate once the parent domain
 * delegates to `nameServers`: on the first deployment, add the NS records to the parent
 * while the certificate validation waits (or deploy with dns disabled, delegate, enable).
 */
export class PublicZone extends pulumi.ComponentResource {
    readonly zoneId: pulumi.Output<string>;
    /** Name servers of the zone: the NS records to create in the parent domain. */
    readonly nameServers: pulumi.Output<string[]>;
    /** The validated certificate (from CertificateValidation) for the stack's region: the load balancer's. */
    readonly certificateArn: pulumi.Output<string>;
    /** The validated certificate in us-east-1 for CloudFront (the same one when the stack is in us-east-1). */
    readonly cloudFrontCertificateArn?: pulumi.Output<string>;
    readonly domainName: string;
    /** The names on the certificate: the domain and `www.` under it. */
    readonly names: string[];
    /** The DS record to add to the parent zone when DNSSEC is on. */
    readonly dsRecord?: pulumi.Output<string>;

    constructor(name: string, args: PublicZoneArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before registering anything: a bad argument leaves no half-made component.
        const problems: string[] = [];
        if (!isDnsName(args.domainName)) problems.push(`domainName "${args.domainName}" must be a lower-case DNS name such as dev.example.com`);
        if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(args.region)) problems.push(`region "${args.region}" must be an AWS region such as us-east-1`);
        const retention = args.queryLogRetentionDays ?? 30;
        if (!Number.isInteger(retention) || retention < 1) problems.push(`queryLogRetentionDays must be a whole number of days, at least 1`);
        if (problems.length > 0) throw new Error(`PublicZone "${name}": ${problems.join("; ")}`);
        super("platform:dns:PublicZone", name, {}, opts);

        const tags = args.tags ?? {};
        const protect = args.protect ?? false;
        this.domainName = args.domainName;
        this.names = siteNames(args.domainName);
        const needsUsEast1 = args.dnssec || args.queryLogging || (args.cloudFrontCertificate && args.region !== US_EAST_1);
        const usEast1 = needsUsEast1 ? usEast1Provider(`${name}-zone`, this, tags) : undefined;
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;

        const validationTimeout = args.certificateValidationTimeout ?? CERTIFICATE_VALIDATION_TIMEOUT;
        if (args.createZone ?? true) {
            // A new zone has new name servers: until the parent zone has NS records pointing at
            // them, nobody resolves the zone, so ACM cannot see the validation records (ACM User
            // Guide, "DNS validation", https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html;
            // Route 53 Developer Guide, "Creating a subdomain that uses Amazon Route 53 as the DNS
            // service without migrating the parent domain").
            pulumi.log.warn(
                `PublicZone "${name}": ${args.domainName} is a public zone this stack creates: delegate it from the parent domain by creating an NS record for ${args.domainName} there ` +
                    `with the four name servers of the stack output nameServers (pulumi stack output nameServers). Until then the certificate cannot validate: pulumi up waits ${validationTimeout} for it, then fails; run it again once the NS records exist.`,
                this,
            );
            const zone = new aws.route53.Zone(
                name,
                { name: args.domainName, comment: `Public zone of ${args.domainName} (Pulumi ${pulumi.getProject()}/${pulumi.getStack()})`, forceDestroy: false, tags },
                // A new zone gets new name servers: the parent's delegation would point nowhere.
                { parent: this, protect, retainOnDelete: protect },
            );
            this.zoneId = zone.zoneId;
            this.nameServers = zone.nameServers;
        } else {
            const zone = aws.route53.getZoneOutput({ name: args.domainName, privateZone: false }, { parent: this });
            this.zoneId = zone.zoneId;
            this.nameServers = zone.nameServers;
        }

        if (args.dnssec) {
            this.dsRecord = this.createDnssec(name, account, usEast1!, protect, tags);
        }
        if (args.queryLogging) {
            this.createQueryLogging(name, account, usEast1!, retention, tags);
        }

        const [certificate, records] = this.createCertificate(name, this.names, tags);
        this.certificateArn = new aws.acm.CertificateValidation(
            name,
            { certificateArn: certificate.arn, validationRecordFqdns: records.map((r) => r.fqdn) },
            // Bounded: a zone nobody delegates to would otherwise hold `pulumi up` for the provider's default.
            { parent: this, customTimeouts: { create: validationTimeout } },
        ).certificateArn;
        if (args.cloudFrontCertificate) {
            if (args.region === US_EAST_1) {
                this.cloudFrontCertificateArn = this.certificateArn;
            } else {
                // ACM gives a domain the same validation CNAME in every region of an account, so
                // the records above validate this certificate too (a second set would fight over them).
                const cfCertificate = new aws.acm.Certificate(
                    `${name}-cloudfront`,
                    { domainName: this.names[0], subjectAlternativeNames: this.names.slice(1), validationMethod: "DNS", tags },
                    { parent: this, provider: usEast1 },
                );
                this.cloudFrontCertificateArn = new aws.acm.CertificateValidation(
                    `${name}-cloudfront`,
                    { certificateArn: cfCertificate.arn, validationRecordFqdns: records.map((r) => r.fqdn) },
                    { parent: this, provider: usEast1, customTimeouts: { create: validationTimeout } },
                ).certificateArn;
            }
        }

        this.registerOutputs({
            zoneId: this.zoneId,
            nameServers: this.nameServers,
            certificateArn: this.certificateArn,
            cloudFrontCertificateArn: this.cloudFrontCertificateArn,
            domainName: this.domainName,
            dsRecord: this.dsRecord,
        });
    }

    /** The certificate and one validation record per name (per domainValidationOption). */
    private createCertificate(name: string, names: string[], tags: Record<string, string>): [aws.acm.Certificate, aws.route53.Record[]] {
        const certificate = new aws.acm.Certificate(
            name,
            { domainName: names[0], subjectAlternativeNames: names.slice(1), validationMethod: "DNS", tags },
            // Pulumi's default create-before-delete keeps the listener on a valid certificate during a replacement.
            { parent: this },
        );
        const records = names.map((domain, i) => {
            // Picked by name: the provider does not promise the options come in request order.
            const option = certificate.domainValidationOptions.apply((options) => {
                const found = options.find((o) => o.domainName === domain);
                if (!found) throw new Error(`PublicZone "${name}": ACM returned no validation option for ${domain}`);
                return found;
            });
            return new aws.route53.Record(
                `${name}-validation-${i === 0 ? "apex" : domain.split(".")[0]}`,
                {
                    zoneId: this.zoneId,
                    name: option.resourceRecordName,
                    type: option.resourceRecordType,
                    records: [option.resourceRecordValue],
                    ttl: 60,
                    // The record may exist from an earlier certificate for the same name: it is the same record.
                    allowOverwrite: true,
                },
                { parent: this },
            );
        });
        return [certificate, records];
    }

    private createDnssec(name: string, account: pulumi.Output<string>, usEast1: aws.Provider, protect: boolean, tags: Record<string, string>): pulumi.Output<string> {
        const zoneArn = pulumi.interpolate`arn:aws:route53:::hostedzone/${this.zoneId}`;
        const key = new aws.kms.Key(
            `${name}-dnssec`,
            {
                description: `DNSSEC key-signing key of ${this.domainName}`,
                // Route 53 signs with ECDSA P-256 only, from an asymmetric key in us-east-1 (no rotation for those).
                customerMasterKeySpec: "ECC_NIST_P256",
                keyUsage: "SIGN_VERIFY",
                deletionWindowInDays: protect ? 30 : 7,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            // Key administration through IAM for the account, but not signing: only Route 53 signs.
                            Sid: "AccountAdministersTheKey",
                            Effect: "Allow",
                            Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
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
                            // Confused-deputy protection: only this account's zone may sign with it.
                            Condition: { StringEquals: { "aws:SourceAccount": account }, ArnLike: { "aws:SourceArn": zoneArn } },
                        },
                        {
                            Sid: "Route53DnssecCreatesGrants",
                            Effect: "Allow",
                            Principal: { Service: "dnssec-route53.amazonaws.com" },
                            Action: "kms:CreateGrant",
                            Resource: "*",
                            Condition: { Bool: { "kms:GrantIsForAWSResource": "true" }, StringEquals: { "aws:SourceAccount": account } },
                        },
                    ],
                }),
                tags,
            },
            // Deleting the key of a signed zone makes the domain unresolvable for validating resolvers.
            { parent: this, provider: usEast1, protect, retainOnDelete: protect },
        );
        const ksk = new aws.route53.KeySigningKey(
            `${name}-ksk`,
            { hostedZoneId: this.zoneId, keyManagementServiceArn: key.arn, name: `${name.replace(/[^A-Za-z0-9_]/g, "_")}_ksk`.slice(0, 128), status: "ACTIVE" },
            { parent: this },
        );
        new aws.route53.HostedZoneDnsSec(name, { hostedZoneId: ksk.hostedZoneId, signingStatus: "SIGNING" }, { parent: this, dependsOn: [ksk] });
        return ksk.dsRecord;
    }

    private createQueryLogging(name: string, account: pulumi.Output<string>, usEast1: aws.Provider, retentionDays: number, tags: Record<string, string>): void {
        // Route 53 writes query logs only to a group in us-east-1 whose name starts with /aws/route53/.
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-query-logs`, { name: `/aws/route53/${this.domainName}`, retentionInDays: retentionDays, tags }, { parent: this, provider: usEast1 });
        const policy = new aws.cloudwatch.LogResourcePolicy(
            `${name}-query-logs`,
            {
                policyName: `route53-query-logs-${this.domainName}`,
                policyDocument: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "route53.amazonaws.com" },
                            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                            // The streams of this group only.
                            Resource: pulumi.interpolate`${logGroup.arn}:*`,
                            Condition: {
                                StringEquals: { "aws:SourceAccount": account },
                                ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:aws:route53:::hostedzone/${this.zoneId}` },
                            },
                        },
                    ],
                }),
            },
            { parent: this, provider: usEast1 },
        );
        // Route 53 checks it may write when the query log is created: the policy must be in place.
        new aws.route53.QueryLog(name, { zoneId: this.zoneId, cloudwatchLogGroupArn: logGroup.arn }, { parent: this, dependsOn: [policy] });
    }
}

export interface DnsArgs {
    /** The public zone (from `PublicZone`). Required. */
    zoneId: pulumi.Input<string>;
    /** The stack's domain, e.g. `dev.example.com`; records are made for it and `www.` under it. Required. */
    domainName: string;
    /** The load balancer's DNS name (alias target). Required. */
    loadBalancerDnsName: pulumi.Input<string>;
    /** The load balancer's canonical hosted zone id (alias target). Required. */
    loadBalancerZoneId: pulumi.Input<string>;
    /**
     * The load balancer answers on IPv6 (`ipAddressType: "dualstack"`): AAAA aliases are made
     * next to the A aliases. An AAAA alias to an IPv4-only load balancer answers nothing, and
     * with failover an AAAA pair whose PRIMARY never answers would send every IPv6 client to
     * the maintenance page, so an IPv4-only load balancer gets A records only. @default false
     */
    loadBalancerDualStack?: boolean;
    /** The VPC the private zone is associated with. Required. */
    vpcId: pulumi.Input<string>;
    /** The private zone's name, e.g. `dev.internal`. Required. */
    privateZoneName: string;
    /** The database's address: `db.<privateZoneName>` becomes a CNAME to it. @default no database record */
    databaseAddress?: pulumi.Input<string>;
    /** Route 53 HTTPS health check of the site at this path (e.g. `/healthz`). @default no health check */
    healthCheckPath?: string;
    /**
     * Failover routing: PRIMARY records to the load balancer (with the health check), SECONDARY
     * to a maintenance page on CloudFront. Needs `healthCheckPath` and `cloudFrontCertificateArn`. @default false
     */
    failover?: boolean;
    /** A validated us-east-1 certificate for the site names (CloudFront's). Required with `failover`. @default none */
    cloudFrontCertificateArn?: pulumi.Input<string>;
    /** HTML of the maintenance page. @default a short "down for maintenance" page */
    maintenanceHtml?: string;
    /**
     * Create the `AWS/Route53` `HealthCheckStatus` alarm here, in us-east-1 (where Route 53
     * publishes the metric), whatever the stack's region. Set false when something else alarms
     * on `healthCheckId` (one alarm per check). @default true (with a health check)
     */
    healthCheckAlarm?: boolean;
    /** SNS topic ARNs notified when the health check fails and recovers (topics in us-east-1: an alarm notifies its own region only). @default none */
    alarmActions?: pulumi.Input<string>[];
    /** Protect the maintenance bucket and the private zone (prod). @default false */
    protect?: boolean;
    /** Tags for the resources made here; also the us-east-1 provider's default tags. @default none */
    tags?: Record<string, string>;
}

/**
 * The stack's names, created after the web tier and the database: alias records (A, and
 * AAAA when the load balancer is dualstack; apex and `www`) to the load balancer, a private zone with `db.<private zone>`, a
 * health check with an alarm, and optionally failover to a static maintenance page served by
 * CloudFront from a private bucket through origin access control.
 */
export class Dns extends pulumi.ComponentResource {
    readonly privateZoneId: pulumi.Output<string>;
    /** `https://<domain>`. */
    readonly siteUrl: string;
    readonly healthCheckId?: pulumi.Output<string>;
    /** The maintenance page's distribution (failover only). */
    readonly distributionId?: pulumi.Output<string>;
    readonly distributionDomainName?: pulumi.Output<string>;
    /** The maintenance page's bucket (failover only). */
    readonly maintenanceBucket?: PrivateBucket;
    /** `db.<private zone>`, when the database exists. */
    readonly databaseName?: string;

    constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems: string[] = [];
        if (!isDnsName(args.domainName)) problems.push(`domainName "${args.domainName}" must be a lower-case DNS name such as dev.example.com`);
        if (!isDnsName(args.privateZoneName)) problems.push(`privateZoneName "${args.privateZoneName}" must be a lower-case DNS name such as dev.internal`);
        if (args.healthCheckPath !== undefined && !/^\/\S*$/.test(args.healthCheckPath)) problems.push(`healthCheckPath "${args.healthCheckPath}" must start with "/" and contain no spaces`);
        if (args.failover && args.healthCheckPath === undefined) problems.push("failover needs healthCheckPath: without a health check Route 53 never fails over");
        if (args.failover && args.cloudFrontCertificateArn === undefined) problems.push("failover needs cloudFrontCertificateArn (a validated us-east-1 certificate for the site names, e.g. PublicZone's cloudFrontCertificateArn)");
        if (problems.length > 0) throw new Error(`Dns "${name}": ${problems.join("; ")}`);
        super("platform:dns:Dns", name, {}, opts);

        const tags = args.tags ?? {};
        const protect = args.protect ?? false;
        const names = siteNames(args.domainName);
        this.siteUrl = `https://${args.domainName}`;
        const healthAlarm = args.healthCheckPath !== undefined && (args.healthCheckAlarm ?? true);
        const usEast1 = healthAlarm ? usEast1Provider(name, this, tags) : undefined;

        if (args.healthCheckPath !== undefined) {
            const healthCheck = new aws.route53.HealthCheck(
                name,
                {
                    type: "HTTPS",
                    // Health checkers resolve the name through DNS. With failover the site's name
                    // points at the maintenance page once failed over, and a check of it would
                    // never see the load balancer recover: check the load balancer's own name
                    // (Route 53 does not validate the certificate). Without failover, check the
                    // site's name, DNS included.
                    fqdn: args.failover ? args.loadBalancerDnsName : args.domainName,
                    port: 443,
                    enableSni: true,
                    resourcePath: args.healthCheckPath,
                    failureThreshold: 3,
                    requestInterval: 30,
                    measureLatency: false,
                    tags: { ...tags, Name: `${args.domainName} HTTPS ${args.healthCheckPath}` },
                },
                { parent: this },
            );
            this.healthCheckId = healthCheck.id;
        }
        if (healthAlarm) {
            // Route 53 publishes health check metrics in us-east-1 only.
            new aws.cloudwatch.MetricAlarm(
                `${name}-health`,
                {
                    alarmDescription: `${args.domainName}: the Route 53 health check of https://<load balancer>${args.healthCheckPath} fails${args.failover ? " (traffic goes to the maintenance page)" : ""}`,
                    namespace: "AWS/Route53",
                    metricName: "HealthCheckStatus",
                    dimensions: { HealthCheckId: this.healthCheckId! },
                    statistic: "Minimum",
                    period: 60,
                    evaluationPeriods: 1,
                    threshold: 1,
                    comparisonOperator: "LessThanThreshold",
                    // No data from the health checkers is no evidence that the site is up.
                    treatMissingData: "breaching",
                    alarmActions: args.alarmActions ?? [],
                    okActions: args.alarmActions ?? [],
                    tags,
                },
                { parent: this, provider: usEast1 },
            );
        }

        const loadBalancerAlias = { name: args.loadBalancerDnsName, zoneId: args.loadBalancerZoneId, evaluateTargetHealth: true };
        const recordTypes = args.loadBalancerDualStack ? (["A", "AAAA"] as const) : (["A"] as const);
        if (args.failover) {
            const page = this.createMaintenancePage(name, names, args, protect, tags);
            this.maintenanceBucket = page.bucket;
            this.distributionId = page.distribution.id;
            this.distributionDomainName = page.distribution.domainName;
            const target = { name: page.distribution.domainName, zoneId: page.distribution.hostedZoneId };
            for (const [label, fqdn] of [["apex", names[0]], ["www", names[1]]] as const) {
                for (const type of recordTypes) {
                    new aws.route53.Record(
                        `${name}-${label}-${type.toLowerCase()}-primary`,
                        { zoneId: args.zoneId, name: fqdn, type, setIdentifier: "primary", failoverRoutingPolicies: [{ type: "PRIMARY" }], healthCheckId: this.healthCheckId, aliases: [loadBalancerAlias] },
                        { parent: this },
                    );
                    new aws.route53.Record(
                        `${name}-${label}-${type.toLowerCase()}-secondary`,
                        // CloudFront alias targets cannot evaluate target health: the secondary is the last resort.
                        { zoneId: args.zoneId, name: fqdn, type, setIdentifier: "secondary", failoverRoutingPolicies: [{ type: "SECONDARY" }], aliases: [{ ...target, evaluateTargetHealth: false }] },
                        { parent: this },
                    );
                }
            }
        } else {
            for (const [label, fqdn] of [["apex", names[0]], ["www", names[1]]] as const) {
                for (const type of recordTypes) {
                    new aws.route53.Record(`${name}-${label}-${type.toLowerCase()}`, { zoneId: args.zoneId, name: fqdn, type, aliases: [loadBalancerAlias] }, { parent: this });
                }
            }
        }

        const privateZone = new aws.route53.Zone(
            `${name}-private`,
            { name: args.privateZoneName, comment: `Internal names of ${args.domainName}`, vpcs: [{ vpcId: args.vpcId }], forceDestroy: false, tags },
            { parent: this, protect },
        );
        this.privateZoneId = privateZone.zoneId;
        if (args.databaseAddress !== undefined) {
            this.databaseName = `db.${args.privateZoneName}`;
            // A CNAME, not an A record: RDS moves the address to the standby on a Multi-AZ failover.
            new aws.route53.Record(`${name}-db`, { zoneId: privateZone.zoneId, name: this.databaseName, type: "CNAME", ttl: 60, records: [args.databaseAddress] }, { parent: this });
        }

        this.registerOutputs({
            privateZoneId: this.privateZoneId,
            siteUrl: this.siteUrl,
            healthCheckId: this.healthCheckId,
            distributionId: this.distributionId,
            distributionDomainName: this.distributionDomainName,
            databaseName: this.databaseName,
        });
    }

    /** The private bucket, its page, the OAC and the distribution. */
    private createMaintenancePage(name: string, names: string[], args: DnsArgs, protect: boolean, tags: Record<string, string>): { bucket: PrivateBucket; distribution: aws.cloudfront.Distribution } {
        // The bucket policy names the distribution (and the bucket), and the distribution names
        // the bucket: the policy's ARNs are handed over before they exist and resolved after.
        const [distributionArn, resolveDistributionArn] = pulumi.deferredOutput<string>();
        const [bucketArn, resolveBucketArn] = pulumi.deferredOutput<string>();
        const bucket = new PrivateBucket(
            `${name}-maintenance`,
            {
                protect,
                tags,
                policyStatements: [
                    {
                        Sid: "CloudFrontReadsMaintenancePage",
                        Effect: "Allow",
                        Principal: { Service: "cloudfront.amazonaws.com" },
                        Action: "s3:GetObject",
                        Resource: pulumi.interpolate`${bucketArn}/*`,
                        // Only this distribution, signing with origin access control.
                        Condition: { StringEquals: { "aws:SourceArn": distributionArn } },
                    },
                ],
            },
            { parent: this },
        );
        resolveBucketArn(bucket.arn);
        new aws.s3.BucketObjectv2(
            `${name}-maintenance-page`,
            {
                bucket: bucket.bucketName,
                key: MAINTENANCE_PAGE_KEY,
                content: args.maintenanceHtml ?? maintenancePage(args.domainName),
                contentType: "text/html",
                cacheControl: "max-age=60",
                tags,
            },
            { parent: this },
        );
        const oac = new aws.cloudfront.OriginAccessControl(
            `${name}-maintenance`,
            { name: `${pulumi.getProject()}-${pulumi.getStack()}-${name}-maintenance`.slice(0, 64), description: `Maintenance page of ${args.domainName}`, originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" },
            { parent: this },
        );
        const originId = "maintenance-page";
        const distribution = new aws.cloudfront.Distribution(
            `${name}-maintenance`,
            {
                enabled: true,
                isIpv6Enabled: true,
                httpVersion: "http2and3",
                comment: `Maintenance page of ${args.domainName} (failover target)`,
                aliases: names,
                defaultRootObject: MAINTENANCE_PAGE_KEY,
                origins: [{ originId, domainName: bucket.bucket.bucketRegionalDomainName, originAccessControlId: oac.id }],
                defaultCacheBehavior: {
                    targetOriginId: originId,
                    viewerProtocolPolicy: "redirect-to-https",
                    allowedMethods: ["GET", "HEAD"],
                    cachedMethods: ["GET", "HEAD"],
                    cachePolicyId: CACHING_OPTIMIZED_POLICY_ID,
                    compress: true,
                },
                // Every path shows the page, with 503 so clients and crawlers know it is temporary
                // (S3 answers 403 for a missing key when the reader may not list the bucket).
                customErrorResponses: [403, 404].map((errorCode) => ({ errorCode, responseCode: 503, responsePagePath: `/${MAINTENANCE_PAGE_KEY}`, errorCachingMinTtl: 10 })),
                priceClass: "PriceClass_100",
                restrictions: { geoRestriction: { restrictionType: "none" } },
                viewerCertificate: { acmCertificateArn: args.cloudFrontCertificateArn, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" },
                tags,
            },
            { parent: this },
        );
        resolveDistributionArn(distribution.arn);
        return { bucket, distribution };
    }
}

/** The default maintenance page. */
export function maintenancePage(domainName: string): string {
    const site = domainName.replace(/[<>&"]/g, "");
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">',
        `<title>${site}: down for maintenance</title></head>`,
        `<body><h1>${site} is down for maintenance</h1><p>We are working on it and will be back shortly.</p></body>`,
        "</html>",
        "",
    ].join("\n");
}
