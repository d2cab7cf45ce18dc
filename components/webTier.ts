import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AppOptions, BootFailure, ReleaseSource, appSetupLines, bootFailureLines, bootReleaseLines, deployDocumentContent, readDeployScript } from "./app";
import { backupToolPaths, checkBackupDirectories } from "./backupTools";
import type { BucketLike, Grantee } from "./bucket";
import { serviceTrustPolicy } from "./iam";
import { Architecture, instanceFamilyProblem } from "./instanceFamilies";

export { Architecture, INSTANCE_FAMILIES, instanceFamilyProblem } from "./instanceFamilies";

export { APP_SERVICE } from "./app";

/**
 * The public SSM parameter of the latest Amazon Linux 2023 AMI, per architecture (Amazon Linux 2023
 * User Guide, "Get the latest AL2023 AMI ID using Systems Manager parameter store":
 * https://docs.aws.amazon.com/linux/al2023/ug/ec2.html).
 */
export function al2023Parameter(architecture: Architecture): string {
    return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${architecture}`;
}

/** EBS snapshots of the tier's volumes by Data Lifecycle Manager. */
export interface WebTierSnapshotArgs {
    /** Snapshot the volumes. @default true */
    enabled?: boolean;
    /** Hours between snapshots: 1, 2, 3, 4, 6, 8, 12 or 24 (DLM's CreateRule intervals). @default 24 */
    intervalHours?: 1 | 2 | 3 | 4 | 6 | 8 | 12 | 24;
    /** First snapshot time of day, UTC `hh:mm`. @default "03:00" */
    time?: string;
    /** Snapshots kept per volume. @default 3 */
    retainCount?: number;
}

/** The defaults WebTier applies to every optional setting it owns (exported for callers that derive from them). */
export const WEB_TIER_DEFAULTS = {
    mode: "asg",
    architecture: "arm64",
    instanceType: "t4g.micro",
    minSize: 1,
    maxSize: 2,
    rootVolumeGb: 8,
    appPort: 8080,
    healthCheckPath: "/healthz",
    cpuTargetPercent: 60,
    detailedMonitoring: false,
    backupTag: { key: "Backup", value: "true" },
    snapshots: { enabled: true, intervalHours: 24, time: "03:00", retainCount: 3 },
    requireHttps: true,
    deletionProtection: true,
    minHealthyPercent: 90,
    deregistrationDelaySeconds: 60,
    deployTimeoutSeconds: 600,
} as const;

export interface WebTierArgs {
    /** Stack name: scopes the instance names, the AMI parameter, the release, backup and log prefixes and the snapshot target tag. Required. */
    stack: string;
    /** `asg`: an Auto Scaling group behind an ALB; `single`: one instance with an Elastic IP in a public subnet (the cheapest setup). @default "asg" */
    mode?: "asg" | "single";
    /** CPU architecture of the image; the instance type's family must match (INSTANCE_FAMILIES). @default "arm64" */
    architecture?: Architecture;
    /** EC2 instance type. @default "t4g.micro" */
    instanceType?: string;
    /** Auto Scaling group minimum (`asg` mode). @default 1 */
    minSize?: number;
    /** Auto Scaling group maximum (`asg` mode). @default 2 */
    maxSize?: number;
    /** Auto Scaling group desired capacity at creation (the scaling policy moves it afterwards). @default minSize */
    desiredCapacity?: number;
    /** Root volume size in GiB (gp3, encrypted); at least the AL2023 image's 8 GiB. @default 8 */
    rootVolumeGb?: number;
    /** Port the app listens on behind the load balancer. @default 8080 */
    appPort?: number;
    /** Target group health check path; the default app answers it from the release's file at that path. @default "/healthz" */
    healthCheckPath?: string;
    /** Target-tracking scaling: keep the group's average CPU near this percentage. @default 60 */
    cpuTargetPercent?: number;
    /** EC2 detailed (1-minute) monitoring. @default false */
    detailedMonitoring?: boolean;
    /** SSM parameter the launch template resolves (`resolve:ssm:`); the AMI factory writes baked AMI ids there. @default `/platform/<stack>/<name>/ami-id` */
    amiParameterName?: string;
    /** Tag on the tier's instances and volumes that selects them for the scheduled backup. @default { key: "Backup", value: "true" } */
    backupTag?: { key: string; value: string };
    /** EBS snapshots by Data Lifecycle Manager (each field defaults on its own). @default daily at 03:00 UTC, 3 kept */
    snapshots?: WebTierSnapshotArgs;
    /**
     * Refuse a load-balanced tier without `certificateArn`: the internet then never reaches the app
     * over plain HTTP (HTTP only redirects to HTTPS). @default true
     */
    requireHttps?: boolean;
    /** ALB deletion protection (`enableDeletionProtection`): a `pulumi destroy` cannot remove a serving load balancer. @default true */
    deletionProtection?: boolean;
    /** Percentage of the group kept healthy while an instance refresh (or a bake's) replaces instances. @default 90 */
    minHealthyPercent?: number;
    /** Seconds the target group drains a deregistering instance (in-flight requests vs. a slow rolling refresh). @default 60 */
    deregistrationDelaySeconds?: number;
    /** The VPC of the target group and the single-mode security group. Required (Network.vpcId). */
    vpcId: pulumi.Input<string>;
    /** Public subnets: the load balancer, or the single instance in `single` mode. Required. */
    publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Private subnets the Auto Scaling group spreads over. Required. */
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The network's load balancer group (HTTP/HTTPS from the internet, out to the app port). Required. */
    loadBalancerSecurityGroupId: pulumi.Input<string>;
    /** The network's app group (app port from the load balancer, HTTPS and database out). Required. */
    appSecurityGroupId: pulumi.Input<string>;
    /**
     * Receives the load balancer's access logs under `alb/<stack>` (it must admit ALB log delivery,
     * as a PrivateBucket with `logDelivery` does), and the deploy command's output under
     * `ssm/deploy/<stack>/` (the SSM agent uploads it with the instance role, which the caller
     * grants; the tier adds the `s3:GetEncryptionConfiguration` the agent checks first). When it is
     * a Pulumi resource, the load balancer waits for it (its policy must exist first). Required.
     */
    logsBucket: BucketLike;
    /**
     * The bucket of the stack's release artifacts (`<releasePrefix>/<version>.tar.gz` + `.sha256`
     * and the `current` pointer): user data and the deploy document read them there. The caller
     * grants the read (`bucket.grantRead(tier's grantee, releasePrefix + "/")`). Required.
     */
    releaseBucketName: pulumi.Input<string>;
    /**
     * The grants the instances need from their first boot (buckets, queues...), made by the caller
     * on the tier's instance role: called once with the tier's grantee; the instances launch only
     * after the returned resources exist (IAM is eventually consistent, and a boot reads releases
     * at once). @default none (the role has SSM access and the command-output encryption check only)
     */
    instanceAccess?: (grantee: Grantee) => pulumi.Resource[];
    /** Key prefix of this stack's releases (no trailing slash). @default `releases/<stack>` (defaultReleasePrefix) */
    releasePrefix?: string;
    /** Seconds one instance may take to install a release (the deploy document's step timeout). @default 600 */
    deployTimeoutSeconds?: number;
    /**
     * Directories the scheduled backup reads (the stack's `backup.directories`): the user data
     * creates the missing ones and installs the backup scripts' tools on every instance, so a
     * backup that runs before the first bake neither exits 3 (no directory) nor 9 (no tool).
     * @default none (no backup prerequisites in the user data)
     */
    backupDirectories?: string[];
    /**
     * ACM certificate for the HTTPS listener; when given, HTTP redirects to HTTPS. @default none
     * (plain HTTP forward, refused when `requireHttps`). Not allowed in `single` mode.
     */
    certificateArn?: pulumi.Input<string>;
    /**
     * CloudWatch alarm names an instance refresh watches: when one goes into ALARM the refresh
     * fails and stops replacing instances (RefreshPreferences.AlarmSpecification, at most 10).
     * The alarms may be created after the group (Monitoring's load balancer alarms are): AWS
     * looks them up when a refresh starts. @default none
     */
    instanceRefreshAlarmNames?: string[];
    /** Extra tags for the resources created here. @default none */
    tags?: Record<string, string>;
    /**
     * Tags for the instances and volumes the launch template (or the single instance) creates.
     * The provider's default tags do not reach resources an Auto Scaling group launches, so pass
     * the stack's tags here. @default none
     */
    launchTags?: Record<string, string>;
    /**
     * Permissions boundary (a managed policy ARN) set on every IAM role created here: the most
     * those roles may ever do, whatever their own policies say (IAM User Guide, "Permissions
     * boundaries for IAM entities"). A deploy role that may create roles only with a boundary
     * (the CI bootstrap's) needs it. @default none
     */
    permissionsBoundary?: pulumi.Input<string>;
}

/** AWS managed policy for SSM Run Command and Session Manager (no SSH key, no inbound port). */
export const SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
/** AWS managed policy Data Lifecycle Manager needs to snapshot volumes (EC2 snapshot actions only). */
export const DLM_SERVICE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole";
/** The AWS-recommended TLS policy: TLS 1.3 and 1.2 with forward-secret ciphers only. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** Root device of Amazon Linux 2023 images. */
export const ROOT_DEVICE = "/dev/xvda";
/** Tag key DLM selects volumes by; its value names this stack's tier (see the DLM policy). */
export const SNAPSHOT_TAG_KEY = "SnapshotPolicy";

/**
 * How an instance refresh of the group replaces instances: the one source of truth for the
 * group's own refresh (started by the provider when the launch template changes) and the one a
 * bake starts (components/amiFactory/bakeRunbook.ts). AWS stores no refresh preferences on the group:
 * StartInstanceRefresh takes them per call, and a call without them gets AWS's defaults and no
 * alarms (EC2 Auto Scaling API Reference, StartInstanceRefresh and RefreshPreferences:
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html).
 */
export interface InstanceRefreshPreferences {
    /** Percentage of the desired capacity kept InService and healthy while instances are replaced (0-100). */
    minHealthyPercentage: number;
    /** Seconds a new instance gets after it is InService before the refresh replaces the next one. */
    instanceWarmupSeconds: number;
    /** CloudWatch alarms that fail the refresh when one goes into ALARM (at most 10; none: no alarm guard). */
    alarmNames: string[];
}

/** Where a stack's releases are unless `releasePrefix` says otherwise (no trailing slash). */
export function defaultReleasePrefix(stack: string): string {
    return `releases/${stack}`;
}

/** Every setting of WebTierArgs with its default applied. */
export interface WebTierSettings {
    mode: "asg" | "single";
    architecture: Architecture;
    instanceType: string;
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
    rootVolumeGb: number;
    appPort: number;
    healthCheckPath: string;
    cpuTargetPercent: number;
    detailedMonitoring: boolean;
    amiParameterName: string;
    backupTag: { key: string; value: string };
    snapshots: Required<WebTierSnapshotArgs>;
    requireHttps: boolean;
    deletionProtection: boolean;
    minHealthyPercent: number;
    deregistrationDelaySeconds: number;
}

/** WebTierArgs' settings with the defaults of WEB_TIER_DEFAULTS applied (pure). */
export function webTierSettings(args: WebTierArgs, name = "web"): WebTierSettings {
    const d = WEB_TIER_DEFAULTS;
    const minSize = args.minSize ?? d.minSize;
    return {
        mode: args.mode ?? d.mode,
        architecture: args.architecture ?? d.architecture,
        instanceType: args.instanceType ?? d.instanceType,
        minSize,
        maxSize: args.maxSize ?? d.maxSize,
        desiredCapacity: args.desiredCapacity ?? minSize,
        rootVolumeGb: args.rootVolumeGb ?? d.rootVolumeGb,
        appPort: args.appPort ?? d.appPort,
        healthCheckPath: args.healthCheckPath ?? d.healthCheckPath,
        cpuTargetPercent: args.cpuTargetPercent ?? d.cpuTargetPercent,
        detailedMonitoring: args.detailedMonitoring ?? d.detailedMonitoring,
        amiParameterName: args.amiParameterName ?? `/platform/${args.stack}/${name}/ami-id`,
        backupTag: args.backupTag ?? { ...d.backupTag },
        snapshots: { ...d.snapshots, ...definedOnly(args.snapshots ?? {}) },
        requireHttps: args.requireHttps ?? d.requireHttps,
        deletionProtection: args.deletionProtection ?? d.deletionProtection,
        minHealthyPercent: args.minHealthyPercent ?? d.minHealthyPercent,
        deregistrationDelaySeconds: args.deregistrationDelaySeconds ?? d.deregistrationDelaySeconds,
    };
}

function definedOnly<T extends object>(value: T): Partial<T> {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The network is IPv4-only (no IPv6 ranges on the VPC or subnets), so is the load balancer. */
const LOAD_BALANCER_IP_ADDRESS_TYPE = "ipv4";
/** Seconds a new instance gets to boot and pass the health check before it counts as unhealthy. */
const HEALTH_CHECK_GRACE_SECONDS = 300;
const ANYWHERE_V4 = "0.0.0.0/0";

/**
 * The web tier on EC2: instances from a launch template whose AMI is resolved from an SSM
 * parameter at launch (the AMI factory writes each bake there), in an Auto Scaling group in
 * the private subnets behind an Application Load Balancer, with an instance role reachable
 * through SSM only (no key pair, no SSH), least-privilege bucket grants and scheduled EBS
 * snapshots. `config.mode: single` replaces the group and the load balancer by one instance
 * with an Elastic IP in a public subnet for the smallest dev setups. A change to the user data
 * (app settings, backup directories, the boot script itself) replaces that instance, as it
 * replaces the group's instances through a new template version: user data only runs at first boot.
 */
export class WebTier extends pulumi.ComponentResource {
    readonly role: aws.iam.Role;
    /** The instance role as a grantee (`<name>-instance`): what a bucket's grant methods take. */
    readonly grantee: Grantee;
    readonly roleArn: pulumi.Output<string>;
    readonly roleName: pulumi.Output<string>;
    readonly instanceProfileArn: pulumi.Output<string>;
    readonly instanceProfileName: pulumi.Output<string>;
    /** Name of the SSM parameter holding the AMI id the instances launch from. */
    readonly amiParameterName: pulumi.Output<string>;
    readonly amiParameterArn: pulumi.Output<string>;
    /** Security group of the instances that serve traffic (app group, or the single-mode group). */
    readonly securityGroupId: pulumi.Output<string>;
    /** The snapshot lifecycle policy, when `config.snapshots.enabled`. */
    readonly snapshotPolicyId?: pulumi.Output<string>;
    // `asg` mode only:
    readonly launchTemplateId?: pulumi.Output<string>;
    readonly autoScalingGroupName?: pulumi.Output<string>;
    readonly loadBalancerArn?: pulumi.Output<string>;
    readonly loadBalancerDnsName?: pulumi.Output<string>;
    readonly loadBalancerZoneId?: pulumi.Output<string>;
    /**
     * How the load balancer answers: `ipv4` (the network has no IPv6 ranges), so DNS makes no
     * AAAA records for it. `dualstack` needs an IPv6 VPC, subnets and security group rules first.
     */
    readonly loadBalancerIpAddressType?: "ipv4" | "dualstack";
    /** For CloudWatch `LoadBalancer` dimensions. */
    readonly loadBalancerArnSuffix?: pulumi.Output<string>;
    readonly targetGroupArn?: pulumi.Output<string>;
    /** For CloudWatch `TargetGroup` dimensions. */
    readonly targetGroupArnSuffix?: pulumi.Output<string>;
    /** How the group's instance refresh replaces instances; a bake's refresh passes the same (AmiFactory). */
    readonly instanceRefreshPreferences?: InstanceRefreshPreferences;
    /** The Command document that installs a release on an instance (`npm run ops -- deploy`). */
    readonly deployDocumentName: pulumi.Output<string>;
    /** Where the stack's releases are: the bucket and the key prefix. */
    readonly releaseBucketName: pulumi.Output<string>;
    readonly releasePrefix: string;
    /** The default app's port and health path (the bake installs the same app). */
    readonly app: AppOptions;
    // `single` mode only:
    readonly instanceId?: pulumi.Output<string>;
    readonly publicIp?: pulumi.Output<string>;
    /** The settings in effect (the Args with their defaults applied). */
    readonly settings: WebTierSettings;

    constructor(name: string, args: WebTierArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:webTier:WebTier", name, {}, opts);

        const cfg = webTierSettings(args, name);
        this.settings = cfg;
        const tags = args.tags ?? {};
        const releasePrefix = (args.releasePrefix ?? defaultReleasePrefix(args.stack)).replace(/\/+$/, "");
        const certificateArn = args.certificateArn;
        if (cfg.mode === "single" && certificateArn !== undefined) {
            throw new Error(`WebTier "${name}": a certificate needs the load balancer; set webTier.mode to "asg" or drop certificateArn (single mode serves HTTP(S) from the instance itself)`);
        }
        if (cfg.requireHttps && cfg.mode === "asg" && certificateArn === undefined) {
            throw new Error(`WebTier "${name}": requireHttps: the load balancer serves HTTPS only (HTTP redirects): give certificateArn (an ACM certificate in the stack's region, or the DNS component's), or set requireHttps: false`);
        }
        if ((args.instanceRefreshAlarmNames ?? []).length > 10) {
            throw new Error(`WebTier "${name}": an instance refresh watches at most 10 alarms (RefreshPreferences.AlarmSpecification), got ${args.instanceRefreshAlarmNames!.length}`);
        }
        if (cfg.mode === "asg" && (cfg.minSize > cfg.maxSize || cfg.desiredCapacity < cfg.minSize || cfg.desiredCapacity > cfg.maxSize)) {
            throw new Error(`WebTier "${name}": need minSize <= desiredCapacity <= maxSize (got ${cfg.minSize} <= ${cfg.desiredCapacity} <= ${cfg.maxSize})`);
        }
        const familyProblem = instanceFamilyProblem(cfg.instanceType, cfg.architecture);
        if (familyProblem) throw new Error(`WebTier "${name}": instanceType ${cfg.instanceType}: ${familyProblem}`);
        if (!Number.isInteger(cfg.rootVolumeGb) || cfg.rootVolumeGb < 8) throw new Error(`WebTier "${name}": rootVolumeGb must be an integer of at least 8 (the Amazon Linux 2023 image size), got ${cfg.rootVolumeGb}`);

        // The AMI the instances launch from. Created with the public AL2023 image so the tier
        // works before the first bake; afterwards the AMI factory owns the value, so a later
        // `pulumi up` must not put the stock image back (ignoreChanges). `aws:ec2:image` makes
        // SSM check the value is an AMI id before it accepts it.
        const publicAmi = aws.ssm.getParameterOutput({ name: al2023Parameter(cfg.architecture) }, { parent: this });
        const amiParameter = new aws.ssm.Parameter(
            `${name}-ami`,
            {
                name: cfg.amiParameterName,
                description: `AMI of the ${args.stack} web tier: written by the AMI factory after each bake`,
                type: "String",
                dataType: "aws:ec2:image",
                value: publicAmi.value,
                tags,
            },
            // A fixed name with a force-new input (dataType): a replacement must free the name first.
            { parent: this, ignoreChanges: ["value"], deleteBeforeReplace: true },
        );
        this.amiParameterName = amiParameter.name;
        this.amiParameterArn = amiParameter.arn;

        if (!/^[A-Za-z0-9][A-Za-z0-9/_.-]*$/.test(releasePrefix)) {
            throw new Error(`WebTier "${name}": releasePrefix "${releasePrefix}" must be a relative S3 key prefix such as "releases/${args.stack}"`);
        }
        // Single mode has no load balancer: the instance itself answers on port 80 too.
        this.app = { port: cfg.appPort, healthPath: cfg.healthCheckPath, ...(cfg.mode === "single" && cfg.appPort !== 80 ? { extraPorts: [80] } : {}) };
        this.releasePrefix = releasePrefix;
        this.releaseBucketName = pulumi.output(args.releaseBucketName);

        const { role, grantee, profile, accessPolicies } = this.createInstanceRole(name, args, tags);
        this.role = role;
        this.grantee = grantee;
        this.roleArn = role.arn;
        this.roleName = role.name;
        this.instanceProfileArn = profile.arn;
        this.instanceProfileName = profile.name;

        // What every instance of the tier is, whichever way it is launched.
        const snapshotTag = { [SNAPSHOT_TAG_KEY]: `${args.stack}-${name}` };
        const launchTags = { ...(args.launchTags ?? {}), ...tags, Name: `${args.stack}-${name}`, [cfg.backupTag.key]: cfg.backupTag.value };
        const volumeTags = { ...launchTags, ...(cfg.snapshots.enabled ? snapshotTag : {}) };
        const metadataOptions = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 };
        if (args.backupDirectories) checkBackupDirectories(`WebTier "${name}"`, args.backupDirectories);
        const deployScript = readDeployScript();
        // Nothing replaces a single instance, so its boot retries rather than give up the app.
        const onBootFailure = cfg.mode === "single" ? "retry" : "replace";
        const userData = this.releaseBucketName.apply((bucket) =>
            Buffer.from(userDataScript({ app: this.app, releases: { bucket, prefix: releasePrefix }, deployScript, backupDirectories: args.backupDirectories, onBootFailure })).toString("base64"),
        );

        const deployDocument = new aws.ssm.Document(
            `${name}-deploy`,
            {
                documentType: "Command",
                documentFormat: "JSON",
                targetType: "/AWS::EC2::Instance",
                content: pulumi.jsonStringify(
                    this.releaseBucketName.apply((bucket) =>
                        deployDocumentContent({ ...this.app, bucket, prefix: releasePrefix, deployScript, timeoutSeconds: args.deployTimeoutSeconds ?? WEB_TIER_DEFAULTS.deployTimeoutSeconds }),
                    ),
                ),
                tags,
            },
            { parent: this },
        );
        this.deployDocumentName = deployDocument.name;

        if (cfg.mode === "asg") {
            const launchTemplate = new aws.ec2.LaunchTemplate(
                `${name}`,
                {
                    description: `${args.stack} web tier`,
                    // Resolved by EC2 at every launch: a new bake reaches new instances without a deploy.
                    imageId: pulumi.interpolate`resolve:ssm:${amiParameter.name}`,
                    instanceType: cfg.instanceType,
                    iamInstanceProfile: { arn: profile.arn },
                    vpcSecurityGroupIds: [args.appSecurityGroupId],
                    metadataOptions,
                    monitoring: { enabled: cfg.detailedMonitoring },
                    blockDeviceMappings: [
                        {
                            deviceName: ROOT_DEVICE,
                            ebs: { volumeType: "gp3", volumeSize: cfg.rootVolumeGb, encrypted: "true", deleteOnTermination: "true" },
                        },
                    ],
                    userData,
                    tagSpecifications: [
                        { resourceType: "instance", tags: launchTags },
                        { resourceType: "volume", tags: volumeTags },
                    ],
                    updateDefaultVersion: true,
                    tags,
                },
                // An instance reads releases and writes output from its first boot: it launches only once
                // the role's policies exist (IAM is eventually consistent: the boot also retries its first reads).
                { parent: this, dependsOn: accessPolicies },
            );
            this.launchTemplateId = launchTemplate.id;
            this.securityGroupId = pulumi.output(args.appSecurityGroupId);
            this.instanceRefreshPreferences = {
                minHealthyPercentage: cfg.minHealthyPercent,
                instanceWarmupSeconds: HEALTH_CHECK_GRACE_SECONDS,
                alarmNames: [...(args.instanceRefreshAlarmNames ?? [])],
            };
            const lb = this.createLoadBalancedGroup(name, args, launchTemplate, certificateArn, this.instanceRefreshPreferences, tags);
            this.autoScalingGroupName = lb.group.name;
            this.loadBalancerArn = lb.loadBalancer.arn;
            this.loadBalancerDnsName = lb.loadBalancer.dnsName;
            this.loadBalancerZoneId = lb.loadBalancer.zoneId;
            this.loadBalancerIpAddressType = LOAD_BALANCER_IP_ADDRESS_TYPE;
            this.loadBalancerArnSuffix = lb.loadBalancer.arnSuffix;
            this.targetGroupArn = lb.targetGroup.arn;
            this.targetGroupArnSuffix = lb.targetGroup.arnSuffix;
        } else {
            const single = this.createSingleInstance(name, args, amiParameter, profile, accessPolicies, metadataOptions, userData, launchTags, volumeTags, tags);
            this.securityGroupId = single.securityGroup.id;
            this.instanceId = single.instance.id;
            this.publicIp = single.eip.publicIp;
        }

        if (cfg.snapshots.enabled) {
            this.snapshotPolicyId = this.createSnapshotPolicy(name, args, snapshotTag, tags);
        }

        this.registerOutputs({
            roleArn: this.roleArn,
            roleName: this.roleName,
            instanceProfileArn: this.instanceProfileArn,
            instanceProfileName: this.instanceProfileName,
            amiParameterName: this.amiParameterName,
            amiParameterArn: this.amiParameterArn,
            securityGroupId: this.securityGroupId,
            snapshotPolicyId: this.snapshotPolicyId,
            launchTemplateId: this.launchTemplateId,
            autoScalingGroupName: this.autoScalingGroupName,
            loadBalancerArn: this.loadBalancerArn,
            loadBalancerDnsName: this.loadBalancerDnsName,
            loadBalancerZoneId: this.loadBalancerZoneId,
            loadBalancerArnSuffix: this.loadBalancerArnSuffix,
            targetGroupArn: this.targetGroupArn,
            targetGroupArnSuffix: this.targetGroupArnSuffix,
            instanceId: this.instanceId,
            publicIp: this.publicIp,
            deployDocumentName: this.deployDocumentName,
            releaseBucketName: this.releaseBucketName,
        });
    }

    private createInstanceRole(name: string, args: WebTierArgs, tags: Record<string, string>) {
        const role = new aws.iam.Role(
            `${name}-instance`,
            {
                description: `Instances of the ${args.stack} web tier`,
                assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"),
                permissionsBoundary: args.permissionsBoundary,
                tags,
            },
            { parent: this },
        );
        const grantee: Grantee = { name: `${name}-instance`, role };
        // Shell and commands through SSM only: no key pair, no inbound port.
        const ssmCore = new aws.iam.RolePolicyAttachment(`${name}-ssm-core`, { role: role.name, policyArn: SSM_CORE_POLICY_ARN }, { parent: this });
        const profile = new aws.iam.InstanceProfile(`${name}`, { role: role.name, tags }, { parent: this });

        // The SSM agent checks the output bucket's encryption before it uploads a command's output.
        const outputEncryption = new aws.iam.RolePolicy(
            `${name}-command-output`,
            {
                role: role.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [{ Sid: "CommandOutputBucketEncryption", Effect: "Allow", Action: "s3:GetEncryptionConfiguration", Resource: args.logsBucket.arn }],
                }),
            },
            { parent: this },
        );
        const granted = args.instanceAccess ? args.instanceAccess(grantee) : [];
        // What an instance uses from its first boot on: it must not launch before all of it exists.
        return { role, grantee, profile, accessPolicies: [ssmCore, ...granted, outputEncryption] };
    }

    private createLoadBalancedGroup(
        name: string,
        args: WebTierArgs,
        launchTemplate: aws.ec2.LaunchTemplate,
        certificateArn: pulumi.Input<string> | undefined,
        refresh: InstanceRefreshPreferences,
        tags: Record<string, string>,
    ) {
        const cfg = this.settings;
        const targetGroup = new aws.lb.TargetGroup(
            `${name}`,
            {
                vpcId: args.vpcId,
                targetType: "instance",
                protocol: "HTTP",
                port: cfg.appPort,
                // Long enough for in-flight requests, short enough that a rolling refresh is not slow.
                deregistrationDelay: cfg.deregistrationDelaySeconds,
                healthCheck: {
                    enabled: true,
                    protocol: "HTTP",
                    port: "traffic-port",
                    path: cfg.healthCheckPath,
                    matcher: "200-399",
                    interval: 15,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 3,
                },
                tags,
            },
            { parent: this },
        );

        const loadBalancer = new aws.lb.LoadBalancer(
            `${name}`,
            {
                loadBalancerType: "application",
                internal: false,
                ipAddressType: LOAD_BALANCER_IP_ADDRESS_TYPE,
                subnets: args.publicSubnetIds,
                securityGroups: [args.loadBalancerSecurityGroupId],
                dropInvalidHeaderFields: true,
                idleTimeout: 60,
                enableDeletionProtection: cfg.deletionProtection,
                accessLogs: { bucket: args.logsBucket.bucketName, prefix: `alb/${args.stack}`, enabled: true },
                tags,
            },
            // The ALB checks it may write to the log bucket when logging is turned on: wait for
            // the bucket's policy (a child of the bucket component).
            { parent: this, dependsOn: pulumi.Resource.isInstance(args.logsBucket) ? [args.logsBucket] : [] },
        );

        const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
        if (certificateArn !== undefined) {
            new aws.lb.Listener(
                `${name}-https`,
                { loadBalancerArn: loadBalancer.arn, port: 443, protocol: "HTTPS", sslPolicy: TLS_POLICY, certificateArn, defaultActions: forward, tags },
                { parent: this },
            );
            new aws.lb.Listener(
                `${name}-http`,
                {
                    loadBalancerArn: loadBalancer.arn,
                    port: 80,
                    protocol: "HTTP",
                    defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
                    tags,
                },
                { parent: this },
            );
        } else {
            new aws.lb.Listener(`${name}-http`, { loadBalancerArn: loadBalancer.arn, port: 80, protocol: "HTTP", defaultActions: forward, tags }, { parent: this });
        }

        const group = new aws.autoscaling.Group(
            `${name}`,
            {
                vpcZoneIdentifiers: args.privateSubnetIds,
                minSize: cfg.minSize,
                maxSize: cfg.maxSize,
                desiredCapacity: cfg.desiredCapacity,
                // A concrete version (not "$Latest"): only a changed version starts an instance refresh.
                launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
                targetGroupArns: [targetGroup.arn],
                healthCheckType: "ELB",
                healthCheckGracePeriod: HEALTH_CHECK_GRACE_SECONDS,
                instanceRefresh: {
                    strategy: "Rolling",
                    preferences: {
                        minHealthyPercentage: refresh.minHealthyPercentage,
                        instanceWarmup: String(refresh.instanceWarmupSeconds),
                        // The provider starts this refresh for a new launch template version: instances
                        // already on it need no replacement. (A bake's refresh must not skip: see AmiFactory.)
                        skipMatching: true,
                        // No autoRollback: EC2 Auto Scaling refuses rollbacks (auto or manual) when the
                        // template's ImageId is an SSM parameter (resolve:ssm:, as here) or the group
                        // uses $Latest/$Default (RefreshPreferences, EC2 Auto Scaling API Reference;
                        // "Undo changes with a manual or auto rollback"). A bad refresh is stopped
                        // instead: an alarm fails it, minHealthyPercentage keeps the rest of the
                        // group serving, and the fix rolls forward (README: instance refresh).
                        ...(refresh.alarmNames.length > 0 ? { alarmSpecification: { alarms: refresh.alarmNames } } : {}),
                    },
                },
                tags: [
                    { key: "Name", value: `${args.stack}-${name}`, propagateAtLaunch: true },
                    { key: cfg.backupTag.key, value: cfg.backupTag.value, propagateAtLaunch: true },
                ],
            },
            // The scaling policy moves the desired capacity; a deploy must not reset it.
            { parent: this, ignoreChanges: ["desiredCapacity"] },
        );

        new aws.autoscaling.Policy(
            `${name}-cpu`,
            {
                autoscalingGroupName: group.name,
                policyType: "TargetTrackingScaling",
                estimatedInstanceWarmup: HEALTH_CHECK_GRACE_SECONDS,
                targetTrackingConfiguration: {
                    predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" },
                    targetValue: cfg.cpuTargetPercent,
                },
            },
            { parent: this },
        );
        return { group, loadBalancer, targetGroup };
    }

    private createSingleInstance(
        name: string,
        args: WebTierArgs,
        amiParameter: aws.ssm.Parameter,
        profile: aws.iam.InstanceProfile,
        accessPolicies: pulumi.Resource[],
        metadataOptions: aws.types.input.ec2.InstanceMetadataOptions,
        userData: pulumi.Input<string>,
        launchTags: Record<string, string>,
        volumeTags: Record<string, string>,
        tags: Record<string, string>,
    ) {
        const cfg = this.settings;
        // No load balancer in front: the instance (the app or a local proxy) answers HTTP(S)
        // itself. Never SSH: shells go through Session Manager.
        // Only what the instance serves: the default app answers HTTP on port 80 (and the app
        // port, which the app group opens to the load balancer group only). Nothing listens on
        // 443 and the instance has no IPv6 address (the VPC is IPv4-only), so neither is opened.
        const sg = new aws.ec2.SecurityGroup(
            `${name}-single`,
            { vpcId: args.vpcId, description: "Single web instance: HTTP from the internet", tags: { ...tags, Name: `${name}-single` } },
            { parent: this },
        );
        new aws.vpc.SecurityGroupIngressRule(`${name}-single-in-80-v4`, { securityGroupId: sg.id, ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: ANYWHERE_V4, description: "HTTP from anywhere", tags }, { parent: this });
        new aws.vpc.SecurityGroupEgressRule(`${name}-single-out-https`, { securityGroupId: sg.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: ANYWHERE_V4, description: "HTTPS to AWS APIs and package repositories", tags }, { parent: this });

        const instance = new aws.ec2.Instance(
            `${name}`,
            {
                // The parameter's value when the instance is created (the stock image, or the
                // latest bake once `pulumi refresh` has read it). Adopting a new bake replaces the
                // instance, so it is an explicit `pulumi up --replace`, not a side effect of refresh.
                ami: pulumi.unsecret(amiParameter.value),
                instanceType: cfg.instanceType,
                subnetId: pulumi.output(args.publicSubnetIds).apply((ids) => ids[0]),
                // The app group as well: the database admits the app group only.
                vpcSecurityGroupIds: [args.appSecurityGroupId, sg.id],
                iamInstanceProfile: profile.name,
                metadataOptions,
                monitoring: cfg.detailedMonitoring,
                rootBlockDevice: { deviceName: ROOT_DEVICE, volumeType: "gp3", volumeSize: cfg.rootVolumeGb, encrypted: true, deleteOnTermination: true },
                volumeTags,
                userDataBase64: userData,
                // User data runs at an instance's first boot only (EC2 User Guide, "Run commands when you
                // launch an EC2 instance with user data input"), and the provider applies a change to it by
                // stopping the instance, modifying the attribute and starting it again: a stop/start that
                // changes nothing. Replace the instance instead, as a launch template change does in asg
                // mode: the new instance boots with the new script. What it loses is its disk since the last
                // backup (the plan diff says "replace"; `ops backup-now` first, `ops restore --from-instance
                // <old id>` after); the Elastic IP association follows the new instance (in an EC2-VPC
                // account AssociateAddress reassociates the address automatically).
                userDataReplaceOnChange: true,
                tags: launchTags,
            },
            { parent: this, ignoreChanges: ["ami"], dependsOn: accessPolicies },
        );
        const eip = new aws.ec2.Eip(`${name}`, { domain: "vpc", tags: { ...tags, Name: `${args.stack}-${name}` } }, { parent: this });
        new aws.ec2.EipAssociation(`${name}`, { allocationId: eip.allocationId, instanceId: instance.id }, { parent: this });
        return { securityGroup: sg, instance, eip };
    }

    private createSnapshotPolicy(name: string, args: WebTierArgs, snapshotTag: Record<string, string>, tags: Record<string, string>): pulumi.Output<string> {
        const snapshots = this.settings.snapshots;
        const role = new aws.iam.Role(
            `${name}-dlm`,
            {
                description: `Data Lifecycle Manager: EBS snapshots of the ${args.stack} web tier`,
                assumeRolePolicy: serviceTrustPolicy("dlm.amazonaws.com"),
                permissionsBoundary: args.permissionsBoundary,
                tags,
            },
            { parent: this },
        );
        const attachment = new aws.iam.RolePolicyAttachment(`${name}-dlm`, { role: role.name, policyArn: DLM_SERVICE_POLICY_ARN }, { parent: this });
        const policy = new aws.dlm.LifecyclePolicy(
            `${name}-snapshots`,
            {
                // DLM descriptions allow letters, digits, spaces, "_" and "-" only.
                description: `${args.stack} web tier volumes`.replace(/[^0-9A-Za-z _-]/g, "-"),
                executionRoleArn: role.arn,
                state: "ENABLED",
                policyDetails: {
                    policyType: "EBS_SNAPSHOT_MANAGEMENT",
                    resourceTypes: ["VOLUME"],
                    // DLM takes volumes carrying ANY of the target tags. The backup tag alone is
                    // shared by every stack in the account (each stack's policy would snapshot the
                    // others' volumes too), so the policy targets the tag naming this stack's tier,
                    // which the launch template puts on the tier's volumes next to the backup tag.
                    targetTags: snapshotTag,
                    schedules: [
                        {
                            name: `Every ${snapshots.intervalHours}h keep ${snapshots.retainCount}`,
                            createRule: { interval: snapshots.intervalHours, intervalUnit: "HOURS", times: snapshots.time },
                            retainRule: { count: snapshots.retainCount },
                            copyTags: true,
                            tagsToAdd: { SnapshotCreator: "dlm" },
                        },
                    ],
                },
                tags,
            },
            { parent: this, dependsOn: [attachment] },
        );
        return policy.id;
    }
}

export interface UserDataOptions {
    /** The default app's port, health path and extra ports. */
    app: AppOptions;
    /** Where the stack's releases are (the `current` pointer is installed at boot). */
    releases: ReleaseSource;
    /** components/ssm/deploy.sh (readDeployScript()). */
    deployScript: string;
    /**
     * Directories the scheduled backup reads (config backup.directories): created when missing,
     * and the backup scripts' tools installed. Default none (no backup preparation).
     */
    backupDirectories?: readonly string[];
    /**
     * What a boot that fails does (components/app.ts, BootFailure): `replace` stops the app so the
     * Auto Scaling group replaces the instance; `retry` (a single instance) keeps serving what is
     * installed and runs the script again later. Default `replace`.
     */
    onBootFailure?: BootFailure;
}

/** EC2 accepts at most 16 KB of user data, before base64 (RunInstances, UserData). */
export const USER_DATA_MAX_BYTES = 16 * 1024;

/** One titled part of the boot script. */
export interface UserDataSection {
    title: string;
    lines: string[];
}

/**
 * The boot script's parts, in the order they run. Kept as separate sections so each concern is
 * added or changed on its own:
 * 1. what a failed boot does (an EXIT trap, first, so it covers every later line);
 * 2. the backup directories: instant, so they exist before any scheduled backup can run;
 * 3. the default app's files (nginx, config, unit, the built-in release), not yet started;
 * 4. the stack's current release, installed before the app's first start, then the start: a
 *    new instance never passes the load balancer's health checks with the placeholder or an old
 *    baked release while the current one is fetched (two checks 15 s apart suffice); on a stack
 *    that never deployed, the placeholder (with its health file) is what starts;
 * 5. the backup tools: a package install nothing serving waits for.
 * Free of secrets: anyone allowed ec2:DescribeInstanceAttribute can read user data.
 */
export function userDataSections(o: UserDataOptions): UserDataSection[] {
    const directories = o.backupDirectories ?? [];
    const backup = directories.length > 0;
    const onFailure = o.onBootFailure ?? "replace";
    return [
        { title: `a failed boot: ${onFailure === "replace" ? "stop the app, the group replaces the instance" : "serve what is installed, try again later"} (components/app.ts)`, lines: bootFailureLines(onFailure) },
        ...(backup ? [{ title: "backup directories (config backup.directories)", lines: backupDirectoriesLines(directories) }] : []),
        { title: "default app: nginx, its config and platform-app.service, the built-in release (components/app.ts)", lines: appSetupLines(o.app, o.deployScript) },
        { title: "the stack's current release, when one is set (components/ssm/deploy.sh), then the app's first start", lines: bootReleaseLines(o.app, o.releases, onFailure) },
        ...(backup ? [{ title: "backup tools (components/backupTools.ts)", lines: backupToolsLines() }] : []),
    ];
}

/**
 * Creates the configured backup directories that do not exist (`mkdir -p` leaves existing ones
 * and their modes alone). Neither default exists on a stock AL2023 image: `/etc/platform` is on
 * no image, `/var/www` only with httpd; a scheduled backup of a missing directory exits 3.
 */
export function backupDirectoriesLines(directories: readonly string[]): string[] {
    checkBackupDirectories("backupDirectories", directories);
    return [`mkdir -p ${directories.join(" ")}`];
}

/**
 * Installs what backup.sh and restore.sh run (components/backupTools.ts) on the stock image: zstd
 * and diffutils are not on it. By path, so dnf does nothing for a tool already there (the
 * baked image has them all). A failure is reported, not fatal: the app keeps running, and every
 * backup then exits 9 naming the missing tool, which alerts.
 */
export function backupToolsLines(): string[] {
    return [
        `if ! dnf install -y ${backupToolPaths().join(" ")} >/var/log/platform-backup-tools.log 2>&1; then`,
        '  echo "installing the backup tools failed (see /var/log/platform-backup-tools.log): backups exit 9 until they are installed" >&2',
        "fi",
    ];
}

/**
 * The boot script (EC2 user data, at most 16 KB before base64): runs at an instance's first
 * boot, as root (and on a single instance again, on its retries). Works on the stock Amazon Linux
 * 2023 image (it installs nginx and the backup tools) and on a baked one (everything is already
 * there and is rewritten to today's config). Refuses to produce a script EC2 would reject.
 */
export function userDataScript(o: UserDataOptions): string {
    const body = userDataSections(o).flatMap((s) => ["", `# --- ${s.title} ---`, ...s.lines]);
    const script = ["#!/bin/bash", "set -euo pipefail", ...body, ""].join("\n");
    const bytes = Buffer.byteLength(script);
    if (bytes > USER_DATA_MAX_BYTES) throw new Error(`web tier: the boot script is ${bytes} bytes; EC2 accepts at most ${USER_DATA_MAX_BYTES} bytes of user data`);
    return script;
}
