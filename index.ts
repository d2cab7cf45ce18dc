/**
 * The stack entry: config -> components -> exports. Everything the stack makes is a child
 * of one of the components below, and every AWS resource carries the stack's tags through
 * the provider's default tags.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AmiFactory } from "./components/amiFactory";
import { Backup, stackBackupPrefix } from "./components/backup";
import { Database } from "./components/database";
import { Dns, PublicZone } from "./components/dns";
import { PrivateBucket } from "./components/bucket";
import { Network } from "./components/network";
import { Monitoring, REFRESH_GUARD_ALARM_IDS, monitoringAlarmName } from "./components/monitoring";
import { WebTier, defaultReleasePrefix } from "./components/webTier";
import { ENGINES } from "./components/database";
import { stackDomain } from "./config/dns";
import { permissionsBoundaryArn } from "./config/iam";
import { loadConfig } from "./config";
import { amiFactoryArgs, backupArgs, databaseArgs, monitoringArgs, webTierArgs } from "./config/componentArgs";

const config = loadConfig();

const provider = new aws.Provider("aws", { region: config.region as aws.Region, defaultTags: { tags: config.tags } });

// The boundary every role of the stack carries (config iam.permissionsBoundary): with `ci`, the
// CI bootstrap's policy for this stack, in this account, which its deploy role requires on them.
const permissionsBoundary: pulumi.Output<string> | undefined =
    config.iam.permissionsBoundary === "none"
        ? undefined
        : pulumi
              .all([aws.getPartitionOutput({}, { provider }).partition, aws.getCallerIdentityOutput({}, { provider }).accountId])
              .apply(([partition, account]) => permissionsBoundaryArn(config.iam.permissionsBoundary, { partition, account, project: config.project, stack: config.stack })!);

const network = new Network(
    "network",
    {
        cidrBlock: config.network.vpcCidr,
        azCount: config.network.azCount,
        natGateways: config.network.natGateways,
        subnetMasks: config.network.subnetMasks,
        interfaceEndpoints: config.network.interfaceEndpoints,
        interfaceEndpointAzCount: config.network.interfaceEndpointAzCount,
        flowLogs: config.network.flowLogs,
        appPort: config.webTier.appPort,
        databasePort: ENGINES[config.database.engine].port,
        permissionsBoundary,
    },
    { providers: [provider] },
);

// Private buckets: `logs` receives S3 server access logs and ALB access logs (SSE-S3, which ALB
// requires); the others log their requests into it.
const bucketDefaults = {
    protect: config.isProduction,
    encryption: config.buckets.encryption,
    kmsKeyArn: config.buckets.kmsKeyArn,
    denyUnencryptedUploads: config.buckets.denyUnencryptedUploads,
    permissionsBoundary,
};
const housekeeping = { noncurrentVersionExpirationDays: config.buckets.noncurrentVersionExpirationDays, abortIncompleteMultipartDays: config.buckets.abortIncompleteMultipartDays };
const logsBucket = new PrivateBucket(
    "logs",
    { protect: config.isProduction, encryption: "s3", logDelivery: true, lifecycle: { ...housekeeping, expireAfterDays: config.buckets.logsExpireAfterDays } },
    { providers: [provider] },
);
const uploadsBucket = new PrivateBucket(
    "uploads",
    { ...bucketDefaults, lifecycle: housekeeping, accessLogs: { bucket: logsBucket, prefix: "s3/uploads/" } },
    { providers: [provider] },
);
const backupBucket = new PrivateBucket(
    "backups",
    {
        ...bucketDefaults,
        lifecycle: {
            ...housekeeping,
            infrequentAccessAfterDays: config.backup.infrequentAccessAfterDays,
            glacierInstantAfterDays: config.backup.glacierAfterDays,
            expireAfterDays: config.backup.expireAfterDays,
        },
        objectLock: config.backup.objectLock.enabled ? { mode: config.backup.objectLock.mode, days: config.backup.objectLock.days } : undefined,
        replication: config.buckets.replicationRegion ? { region: config.buckets.replicationRegion, defaultTags: config.tags } : undefined,
        accessLogs: { bucket: logsBucket, prefix: "s3/backups/" },
    },
    { providers: [provider] },
);
// Release artifacts of the web app (`releases/<stack>/<version>.tar.gz` + `.sha256`, and the
// `current` pointer): versioned like every private bucket, never expired (a rollback needs them).
const releasesBucket = new PrivateBucket(
    "releases",
    { ...bucketDefaults, lifecycle: housekeeping, accessLogs: { bucket: logsBucket, prefix: "s3/releases/" } },
    { providers: [provider] },
);
const bakeLogsBucket = new PrivateBucket(
    "bake-logs",
    { ...bucketDefaults, lifecycle: { ...housekeeping, expireAfterDays: 90 }, accessLogs: { bucket: logsBucket, prefix: "s3/bake-logs/" } },
    { providers: [provider] },
);

// DNS in two parts around the web tier: the zone and the validated certificate first (the
// HTTPS listener needs the certificate), the records after (they point at the load balancer).
const publicZone = config.dns.enabled
    ? new PublicZone(
          "dns",
          {
              domainName: stackDomain(config.dns),
              region: config.region,
              createZone: config.dns.createZone,
              dnssec: config.dns.dnssec,
              queryLogging: config.dns.queryLogging,
              cloudFrontCertificate: config.dns.failover,
              protect: config.isProduction,
              tags: config.tags,
          },
          { providers: [provider] },
      )
    : undefined;

const webTier = new WebTier(
    "web",
    {
        ...webTierArgs(config),
        vpcId: network.vpcId,
        publicSubnetIds: network.publicSubnetIds,
        privateSubnetIds: network.privateSubnetIds,
        loadBalancerSecurityGroupId: network.loadBalancerSecurityGroupId,
        appSecurityGroupId: network.appSecurityGroupId,
        logsBucket,
        releaseBucketName: releasesBucket.bucketName,
        // What the instances use from their first boot; they launch once these grants exist.
        instanceAccess: (instances) => [
            uploadsBucket.grantReadWrite(instances),
            // backup.sh uploads an archive and a manifest, downloads both again to verify them, reads
            // and rewrites the `latest` pointer and removes an upload that failed verification;
            // restore.sh lists and downloads snapshots. Write-only would break the verify-before-commit
            // step, so read-write, but only under this stack's prefix: an instance never touches
            // another stack's backups.
            backupBucket.grantReadWrite(instances, `${stackBackupPrefix(config.stack)}/`),
            // deploy.sh (boot, bake, ops deploy) reads releases and the `current` pointer; listing the
            // prefix tells a missing release from a denied one. Never writes: releases are uploaded
            // by whoever runs `ops deploy`.
            releasesBucket.grantRead(instances, `${defaultReleasePrefix(config.stack)}/`),
            // The SSM agent uploads the deploy command's output with the instance's credentials.
            logsBucket.grantWrite(instances, `ssm/deploy/${config.stack}/`),
        ],
        certificateArn: publicZone?.certificateArn ?? config.webTier.certificateArn,
        // Instances an Auto Scaling group launches do not get the provider's default tags.
        launchTags: config.tags,
        // The user data prepares what a scheduled backup needs on the stock image (before any bake).
        backupDirectories: config.backup.enabled ? config.backup.directories : undefined,
        // Monitoring's load balancer alarms (created after the tier, looked up when a refresh starts).
        instanceRefreshAlarmNames: REFRESH_GUARD_ALARM_IDS.map((id) => monitoringAlarmName(config.project, config.stack, id)),
        permissionsBoundary,
    },
    { providers: [provider] },
);

// Scheduled file backups of the tagged web instances through SSM State Manager.
const backup = config.backup.enabled
    ? new Backup(
          "backup",
          {
              ...backupArgs(config),
              backupBucket,
              logsBucket,
              backupTag: config.webTier.backupTag,
              outputWriter: webTier.grantee,
              // The backup and the drill run on the web instances, with their role.
              metricsPublisher: webTier.grantee,
              permissionsBoundary,
          },
          { providers: [provider] },
      )
    : undefined;

// Where the private tier has no egress (no NAT gateway, no SSM endpoints: the cheapest dev),
// the bake builder launches in a public subnet so it can reach SSM and the package mirrors.
const privateTierHasEgress = config.network.natGateways !== "none" || config.network.interfaceEndpoints;

const amiFactory = config.amiFactory.enabled
    ? new AmiFactory(
          "ami",
          {
              ...amiFactoryArgs(config),
              webTier,
              builderSubnetIds: privateTierHasEgress ? network.privateSubnetIds : network.publicSubnetIds,
              appSecurityGroupId: network.appSecurityGroupId,
              bakeLogsBucket,
              backupDirectories: config.backup.enabled ? config.backup.directories : undefined,
              permissionsBoundary,
          },
          { providers: [provider] },
      )
    : undefined;

const database = config.database.enabled
    ? new Database(
          "db",
          {
              ...databaseArgs(config),
              isolatedSubnetIds: network.isolatedSubnetIds,
              securityGroupId: network.databaseSecurityGroupId,
              appRole: webTier.role,
              permissionsBoundary,
          },
          { providers: [provider] },
      )
    : undefined;

// db-bootstrap's command output, uploaded by the web instance it runs on.
if (database) logsBucket.grantWrite(webTier.grantee, `ssm/db-bootstrap/${config.stack}/`);

const dns =
    publicZone && webTier.loadBalancerDnsName && webTier.loadBalancerZoneId
        ? new Dns(
              "dns",
              {
                  zoneId: publicZone.zoneId,
                  domainName: publicZone.domainName,
                  loadBalancerDnsName: webTier.loadBalancerDnsName,
                  loadBalancerZoneId: webTier.loadBalancerZoneId,
                  loadBalancerDualStack: webTier.loadBalancerIpAddressType === "dualstack",
                  vpcId: network.vpcId,
                  privateZoneName: config.dns.privateZoneName,
                  databaseAddress: database?.address,
                  healthCheckPath: config.dns.healthCheck.enabled ? config.dns.healthCheck.path : undefined,
                  failover: config.dns.failover,
                  cloudFrontCertificateArn: publicZone.cloudFrontCertificateArn,
                  // One alarm per check, Monitoring's: to the alert topic in us-east-1, elsewhere to the
                  // us-east-1 alert topic it makes for it (the metric and the alarm live in us-east-1).
                  healthCheckAlarm: false,
                  protect: config.isProduction,
                  tags: config.tags,
              },
              { providers: [provider] },
          )
        : undefined;

// Alerts, dashboard and budget last: they watch whatever the components above created.
const monitoring = new Monitoring(
    "monitoring",
    {
        ...monitoringArgs(config),
        autoScalingGroupName: webTier.autoScalingGroupName,
        loadBalancerArnSuffix: webTier.loadBalancerArnSuffix,
        targetGroupArnSuffix: webTier.targetGroupArnSuffix,
        dbInstanceIdentifier: database?.identifier,
        healthCheckId: dns?.healthCheckId,
        commandDocumentNames: backup ? [backup.backupDocumentName, backup.restoreDocumentName, ...(backup.drillDocumentName ? [backup.drillDocumentName] : [])] : undefined,
        automationRunbookNames: [...(amiFactory ? [amiFactory.bakeRunbookName, amiFactory.imagingRunbookName] : []), ...(backup?.drillRunbookName ? [backup.drillRunbookName] : [])],
        backupAssociationId: backup?.associationId,
        drillAssociationId: backup?.drillAssociationId,
        backupMetrics: backup
            ? {
                  namespace: backup.metricsNamespace,
                  directories: backup.settings.directories,
                  backupSchedule: backup.settings.schedule,
                  drillSchedule: backup.settings.drill.enabled ? backup.settings.drill.schedule : undefined,
              }
            : undefined,
        // The lone dev instance has no group to replace it: recover / reboot on failed status checks.
        instance: webTier.instanceId ? { id: webTier.instanceId, type: config.webTier.instanceType } : undefined,
        tags: config.tags,
    },
    { providers: [provider] },
);

const certificateArn = publicZone?.certificateArn ?? config.webTier.certificateArn;

/**
 * Stack outputs. Parts a stack does not have (DNS off, single mode, no database) are left out
 * rather than exported as undefined, which the engine would warn about on every run.
 */
const outputs = {
    stack: config.stack,
    environment: config.environment,
    region: config.region,
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    privateSubnetIds: network.privateSubnetIds,
    isolatedSubnetIds: network.isolatedSubnetIds,
    privateRouteTableIds: network.privateRouteTableIds,
    s3EndpointId: network.s3EndpointId,
    logsBucketName: logsBucket.bucketName,
    uploadsBucketName: uploadsBucket.bucketName,
    backupBucketName: backupBucket.bucketName,
    bakeLogsBucketName: bakeLogsBucket.bucketName,
    releaseBucketName: releasesBucket.bucketName,
    releasePrefix: webTier.releasePrefix,
    deployDocumentName: webTier.deployDocumentName,
    webInstanceId: webTier.instanceId,
    webRoleArn: webTier.roleArn,
    loadBalancerDnsName: webTier.loadBalancerDnsName,
    autoScalingGroupName: webTier.autoScalingGroupName,
    amiParameterName: webTier.amiParameterName,
    launchTemplateId: webTier.launchTemplateId,
    bakeRunbookName: amiFactory?.bakeRunbookName,
    imagingRunbookName: amiFactory?.imagingRunbookName,
    bakePrepareDocumentName: amiFactory?.bakePrepareDocumentName,
    databaseEndpoint: database?.endpoint,
    databasePort: database?.port,
    databaseSecretArn: database?.secretArn,
    databaseResourceId: database?.resourceId,
    dbBootstrapDocumentName: database?.bootstrapDocumentName,
    backupDocumentName: backup?.backupDocumentName,
    restoreDocumentName: backup?.restoreDocumentName,
    backupAssociationId: backup?.associationId,
    // What `npm run ops` needs to find the backups and the instances (tools/opsOutputs.ts reads these):
    // the backup runs on instances carrying this tag AND `Stack=<stack>`.
    backupTag: backup ? config.webTier.backupTag : undefined,
    backupPrefix: backup?.backupPrefix,
    backupLogPrefix: backup?.backupLogPrefix,
    restoreLogPrefix: backup?.restoreLogPrefix,
    // The restore drill (`npm run ops -- drill` sends its document to one instance).
    drillDocumentName: backup?.drillDocumentName,
    drillRunbookName: backup?.drillRunbookName,
    drillAssociationId: backup?.drillAssociationId,
    drillLogPrefix: backup?.drillDocumentName ? backup.drillLogPrefix : undefined,
    backupMetricsNamespace: backup?.metricsNamespace,
    publicZoneId: publicZone?.zoneId,
    /** NS records to create in the parent domain (delegation), when this stack created the zone. */
    nameServers: publicZone?.nameServers,
    certificateArn,
    siteUrl: dns?.siteUrl ?? (webTier.loadBalancerDnsName ? pulumi.interpolate`${certificateArn ? "https" : "http"}://${webTier.loadBalancerDnsName}` : webTier.publicIp?.apply((ip) => `http://${ip}`)),
    alertTopicArn: monitoring.topicArn,
    /** Each alarm e-mail and whether it still has to confirm its subscription (it receives nothing until then). */
    alertSubscriptions: monitoring.subscriptions.length > 0 ? monitoring.subscriptions.map((s) => ({ endpoint: s.endpoint, pendingConfirmation: s.pendingConfirmation })) : undefined,
    dashboardName: monitoring.dashboardName,
    budgetName: monitoring.budgetName,
};

export = Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
