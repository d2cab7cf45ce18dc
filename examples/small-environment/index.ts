/**
 * Reusing the components: a network, private buckets, a web tier and a database, wired to each
 * other with literal Args. Everything not given here is the component's documented `@default`
 * (see each Args type); the grants are this program's choice, made on the tier's grantee.
 */
import { Database, ENGINES, Network, PrivateBucket, WebTier, defaultReleasePrefix } from "../../components";

const stack = "example";

// Two zones, no NAT gateway: the web instance sits in a public subnet, the database in isolated ones.
const network = new Network("network", {
    cidrBlock: "10.50.0.0/16",
    azCount: 2,
    natGateways: "none",
    interfaceEndpoints: false,
    databasePort: ENGINES.postgres.port,
});

const logs = new PrivateBucket("logs", { logDelivery: true, lifecycle: { expireAfterDays: 90 } });
const uploads = new PrivateBucket("uploads", { accessLogs: { bucket: logs, prefix: "s3/uploads/" } });
const releases = new PrivateBucket("releases", { accessLogs: { bucket: logs, prefix: "s3/releases/" } });

// One instance with an Elastic IP (no load balancer, so no certificate and no deletion protection to decide).
const web = new WebTier("web", {
    stack,
    mode: "single",
    instanceType: "t4g.micro",
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    privateSubnetIds: network.privateSubnetIds,
    loadBalancerSecurityGroupId: network.loadBalancerSecurityGroupId,
    appSecurityGroupId: network.appSecurityGroupId,
    logsBucket: logs,
    releaseBucketName: releases.bucketName,
    instanceAccess: (instances) => [
        uploads.grantReadWrite(instances),
        releases.grantRead(instances, `${defaultReleasePrefix(stack)}/`),
        logs.grantWrite(instances, `ssm/deploy/${stack}/`),
    ],
    snapshots: { retainCount: 2 },
});

// A throwaway database: the component's defaults protect it from deletion; this one may go.
const database = new Database("db", {
    project: "small",
    stack,
    engine: "postgres",
    instanceClass: "db.t4g.micro",
    deletionProtection: false,
    protect: false,
    keepAutomatedBackups: false,
    isolatedSubnetIds: network.isolatedSubnetIds,
    securityGroupId: network.databaseSecurityGroupId,
    appRole: web.role,
    tags: { Environment: "dev" },
});

export const siteIp = web.publicIp;
export const uploadsBucket = uploads.bucketName;
export const databaseEndpoint = database.endpoint;
