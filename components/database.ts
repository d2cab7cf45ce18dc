import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { dbBootstrapDocumentContent, readDbBootstrapScript } from "./dbBootstrap";
import { serviceTrustPolicy } from "./iam";
import { DATABASE_SETTING_CHECKS, DatabaseSettings, ENGINES, Engine, LOG_RETENTION_DAYS, databaseSettings, isEngine } from "./databaseSettings";

export * from "./databaseSettings";

export interface DatabaseArgs extends Partial<DatabaseSettings> {
    /** Stack name; with `project` it makes the instance identifier `<project>-<stack>`. Required. */
    stack: string;
    /** Project name (first part of the identifier). Required. */
    project: string;
    /** The network's isolated subnets (no route to the internet), at least two zones. Required. */
    isolatedSubnetIds: pulumi.Input<string[]>;
    /**
     * The database tier's security group; `Network.databaseSecurityGroupId` already admits the
     * engine port from the app tier's group only. Required.
     */
    securityGroupId: pulumi.Input<string>;
    /**
     * The app tier's role: it gets `rds-db:connect` for `iamUser` on this instance only.
     * @default none (no role can connect with IAM authentication)
     */
    appRole?: aws.iam.Role;
    /**
     * Tags for every resource here. The policy pack reads the `Environment` tag from the
     * instance (pass the stack's tags, which carry it). @default {} (the provider's default tags still apply)
     */
    tags?: Record<string, string>;
    /**
     * Permissions boundary (a managed policy ARN) set on every IAM role created here: the most
     * those roles may ever do, whatever their own policies say (IAM User Guide, "Permissions
     * boundaries for IAM entities"). A deploy role that may create roles only with a boundary
     * (the CI bootstrap's) needs it. @default none
     */
    permissionsBoundary?: pulumi.Input<string>;
}

/** The parameter that makes the server refuse connections without TLS, per engine. */
const FORCE_TLS: Record<Engine, { name: string; value: string }> = {
    postgres: { name: "rds.force_ssl", value: "1" },
    mysql: { name: "require_secure_transport", value: "ON" },
    mariadb: { name: "require_secure_transport", value: "ON" },
};

/**
 * The inputs this component sets on aws.rds.Instance that force a replacement (ForceNew in
 * terraform-provider-aws internal/service/rds/instance.go, which @pulumi/aws is built from):
 * a change to any of them creates a new, empty instance. They key the final snapshot's name.
 */
export const RDS_REPLACING_INPUTS = ["identifier", "engine", "dbName", "username", "storageEncrypted", "kmsKeyId"] as const;

/** Performance Insights' free retention (days); longer retention is billed. */
const PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7;
const ENHANCED_MONITORING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole";
/** RDS identifiers: a letter first, lowercase letters, digits and single hyphens, at most 63. */
const IDENTIFIER = /^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$/;

/**
 * The parameter group family of an engine version: `postgres16`, `mysql8.0`, `mariadb10.11`.
 * PostgreSQL families are named by major version alone; MySQL and MariaDB by `major.minor`.
 */
export function parameterGroupFamily(engine: Engine, version: string): string {
    const parts = version.split(".");
    return engine === "postgres" ? `postgres${parts[0]}` : `${engine}${parts.slice(0, 2).join(".")}`;
}

/**
 * The database tier: one RDS instance (PostgreSQL by default, MySQL or MariaDB by config) in
 * the isolated subnets behind the database security group, never public, storage encrypted,
 * TLS forced by a parameter group, the master password generated and kept by RDS in Secrets
 * Manager (never in config, code or state), IAM database authentication for the app role, gp3
 * storage with autoscaling, backups, log exports and, per config, Multi-AZ, Performance Insights
 * and enhanced monitoring. In production it cannot be deleted without a final snapshot.
 */
export class Database extends pulumi.ComponentResource {
    readonly instance: aws.rds.Instance;
    /** `address:port`. */
    readonly endpoint: pulumi.Output<string>;
    /** The DNS name of the instance. */
    readonly address: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    /** The Secrets Manager secret RDS keeps the master password in. */
    readonly secretArn: pulumi.Output<string>;
    /** The instance's resource id (`db-...`), the one `rds-db:connect` ARNs are built from. */
    readonly resourceId: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    /** The instance identifier, `<project>-<stack>`. */
    readonly identifier: string;
    readonly arn: pulumi.Output<string>;
    /** The DB parameter group family, e.g. `postgres16`. */
    readonly parameterGroupFamily: string;
    /** The database user the app role may connect as. */
    readonly iamUser: string;
    /** The Command document that creates `iamUser` (run on one app instance: `npm run ops -- db-bootstrap`); with `appRole`. */
    readonly bootstrapDocumentName?: pulumi.Output<string>;
    /** The settings in effect (the Args with their defaults applied). */
    readonly settings: DatabaseSettings;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:database:Database", name, {}, opts);

        const db = databaseSettings(args);
        this.settings = db;
        const tags = args.tags ?? {};
        const identifier = `${args.project}-${args.stack}`.toLowerCase();
        validateDatabaseArgs(name, args, identifier);
        const engine = db.engine;
        const family = parameterGroupFamily(engine, db.engineVersion);
        this.identifier = identifier;
        this.parameterGroupFamily = family;
        this.iamUser = db.iamUser;

        const subnetGroup = new aws.rds.SubnetGroup(
            `${name}-subnets`,
            {
                description: `${identifier}: isolated subnets only (no route to or from the internet)`,
                // Known only after the VPC exists; the same check as up front, where they are known.
                subnetIds: pulumi.output(args.isolatedSubnetIds).apply((ids) => {
                    if (ids.length < 2) throw new Error(`Database "${name}": isolatedSubnetIds must name subnets in at least two zones, got ${ids.length}`);
                    return ids;
                }),
                tags: { ...tags, Name: `${identifier}-subnets` },
            },
            { parent: this },
        );

        const tls = FORCE_TLS[engine];
        const parameterGroup = new aws.rds.ParameterGroup(
            `${name}-params`,
            {
                family,
                description: `${identifier}: ${family} with TLS required for every connection`,
                // Both parameters are dynamic (RDS applies them without a reboot), so "immediate"
                // is accepted; a static parameter would need "pending-reboot".
                parameters: [{ name: tls.name, value: tls.value, applyMethod: "immediate" }],
                tags: { ...tags, Name: `${identifier}-params` },
            },
            { parent: this },
        );

        let monitoringRole: aws.iam.Role | undefined;
        let monitoringAttachment: aws.iam.RolePolicyAttachment | undefined;
        if (db.monitoringIntervalSeconds > 0) {
            const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
            monitoringRole = new aws.iam.Role(
                `${name}-monitoring`,
                {
                    description: `${identifier}: RDS enhanced monitoring publishes OS metrics to CloudWatch Logs`,
                    assumeRolePolicy: serviceTrustPolicy("monitoring.rds.amazonaws.com", { sourceAccount: account }),
                    permissionsBoundary: args.permissionsBoundary,
                    tags,
                },
                { parent: this },
            );
            monitoringAttachment = new aws.iam.RolePolicyAttachment(`${name}-monitoring`, { role: monitoringRole.name, policyArn: ENHANCED_MONITORING_POLICY_ARN }, { parent: this });
        }

        // The identifier is fixed (operators and alarms know the instance by it), so a replacing
        // change cannot create the new instance first (Pulumi's default): RDS would refuse the
        // second instance of that name. Unprotected, the old instance is deleted first
        // (deleteBeforeReplace); `protect`ed, Pulumi refuses the replacement
        // (the offline diff says what to do). Either way the deleted instance leaves a final
        // snapshot whose name must be new each time (RDS refuses an existing snapshot name):
        // a random suffix that changes exactly when a replacing input changes.
        const replacingInputs: Record<(typeof RDS_REPLACING_INPUTS)[number], pulumi.Input<string>> = {
            identifier,
            engine,
            dbName: db.databaseName,
            username: db.masterUsername,
            storageEncrypted: "true",
            kmsKeyId: db.kmsKeyArn ?? "aws/rds",
        };
        const finalSnapshotSuffix = new random.RandomId(`${name}-final-snapshot`, { byteLength: 4, keepers: replacingInputs }, { parent: this });

        const performanceInsights = db.performanceInsights
            ? {
                  performanceInsightsEnabled: true,
                  performanceInsightsRetentionPeriod: PERFORMANCE_INSIGHTS_RETENTION_DAYS,
                  ...(db.kmsKeyArn ? { performanceInsightsKmsKeyId: db.kmsKeyArn } : {}),
              }
            : { performanceInsightsEnabled: false };

        // RDS writes each exported log to /aws/rds/instance/<identifier>/<log> and creates the group
        // itself when it is missing: retention "never expire", no tags, outside the stack, left
        // behind by a destroy ("Publishing database logs to Amazon CloudWatch Logs", Amazon RDS User
        // Guide, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html).
        // Declared here, before the instance, they get the stack's retention, key and tags.
        const logGroups = ENGINES[engine].logs.map(
            (log) =>
                new aws.cloudwatch.LogGroup(
                    `${name}-log-${log}`,
                    {
                        name: rdsLogGroupName(identifier, log),
                        retentionInDays: db.logRetentionDays,
                        ...(db.logsKmsKeyArn ? { kmsKeyId: db.logsKmsKeyArn } : {}),
                        tags: { ...tags, Name: `${identifier}-${log}` },
                    },
                    { parent: this },
                ),
        );

        this.instance = new aws.rds.Instance(
            name,
            {
                identifier,
                engine,
                engineVersion: db.engineVersion,
                instanceClass: db.instanceClass,
                port: ENGINES[engine].port,
                dbName: db.databaseName,
                username: db.masterUsername,
                // RDS generates the password and keeps (and can rotate) it in Secrets Manager.
                manageMasterUserPassword: true,
                ...(db.kmsKeyArn ? { masterUserSecretKmsKeyId: db.kmsKeyArn } : {}),
                iamDatabaseAuthenticationEnabled: true,

                storageType: "gp3",
                allocatedStorage: db.allocatedStorageGb,
                maxAllocatedStorage: db.maxAllocatedStorageGb,
                storageEncrypted: true,
                ...(db.kmsKeyArn ? { kmsKeyId: db.kmsKeyArn } : {}),

                dbSubnetGroupName: subnetGroup.name,
                vpcSecurityGroupIds: [args.securityGroupId],
                publiclyAccessible: false,
                multiAz: db.multiAz,
                parameterGroupName: parameterGroup.name,

                backupRetentionPeriod: db.backupRetentionDays,
                backupWindow: db.backupWindow,
                maintenanceWindow: db.maintenanceWindow,
                copyTagsToSnapshot: true,
                autoMinorVersionUpgrade: true,
                deletionProtection: db.deletionProtection,
                // Every environment: a replacement or a destroy must not lose the data unasked.
                skipFinalSnapshot: false,
                finalSnapshotIdentifier: pulumi.interpolate`${identifier}-final-${finalSnapshotSuffix.hex}`,
                // Kept, the automated backups stay restorable after a delete until they expire.
                deleteAutomatedBackups: !db.keepAutomatedBackups,

                enabledCloudwatchLogsExports: [...ENGINES[engine].logs],
                ...performanceInsights,
                monitoringInterval: db.monitoringIntervalSeconds,
                ...(monitoringRole ? { monitoringRoleArn: monitoringRole.arn } : {}),

                tags: { ...tags, Name: identifier },
            },
            {
                parent: this,
                protect: db.protect,
                deleteBeforeReplace: !db.protect,
                // RDS checks the role's permissions when the instance is created, and exports its logs
                // into the groups above only if they exist first.
                dependsOn: [...(monitoringAttachment ? [monitoringAttachment] : []), ...logGroups],
            },
        );

        this.endpoint = this.instance.endpoint;
        this.address = this.instance.address;
        this.port = this.instance.port;
        this.resourceId = this.instance.resourceId;
        this.arn = this.instance.arn;
        this.securityGroupId = pulumi.output(args.securityGroupId);
        this.secretArn = this.instance.masterUserSecrets.apply((secrets) => {
            if (!secrets || secrets.length === 0 || !secrets[0].secretArn) {
                throw new Error(`Database "${name}": RDS reported no master user secret although manageMasterUserPassword is true`);
            }
            return secrets[0].secretArn;
        });

        if (args.appRole) {
            const partition = aws.getPartitionOutput({}, { parent: this }).partition;
            const region = aws.getRegionOutput({}, { parent: this }).region;
            const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
            new aws.iam.RolePolicy(
                `${name}-connect`,
                {
                    role: args.appRole.id,
                    policy: pulumi.jsonStringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: "rds-db:connect",
                                // One database user on this instance: not `dbuser:*/*`.
                                Resource: pulumi.interpolate`arn:${partition}:rds-db:${region}:${account}:dbuser:${this.instance.resourceId}/${db.iamUser}`,
                            },
                        ],
                    }),
                },
                { parent: this },
            );
        }

        if (args.appRole) {
            this.bootstrapDocumentName = this.createBootstrap(name, args, tags);
        }

        this.registerOutputs({
            endpoint: this.endpoint,
            address: this.address,
            port: this.port,
            secretArn: this.secretArn,
            resourceId: this.resourceId,
            securityGroupId: this.securityGroupId,
            identifier: this.identifier,
            arn: this.arn,
            bootstrapDocumentName: this.bootstrapDocumentName,
        });
    }

    /**
     * The db-bootstrap document and what running it needs from the app role: the master secret
     * (exactly this instance's, read through Secrets Manager) and, when the secret is encrypted
     * with a customer managed key, kms:Decrypt on that key through Secrets Manager only. With the
     * AWS managed key (aws/secretsmanager) its key policy already allows use through Secrets
     * Manager to principals of the account allowed to read the secret.
     */
    private createBootstrap(name: string, args: DatabaseArgs, tags: Record<string, string>): pulumi.Output<string> {
        const db = this.settings;
        const role = args.appRole!;
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const script = readDbBootstrapScript();
        const document = new aws.ssm.Document(
            `${name}-bootstrap`,
            {
                documentType: "Command",
                documentFormat: "JSON",
                targetType: "/AWS::EC2::Instance",
                content: pulumi.jsonStringify(
                    pulumi.all([this.address, this.secretArn, region]).apply(([host, secretArn, r]) =>
                        dbBootstrapDocumentContent({ engine: db.engine, engineVersion: db.engineVersion, host, port: ENGINES[db.engine].port, database: db.databaseName, iamUser: db.iamUser, secretArn, region: r, script }),
                    ),
                ),
                tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-bootstrap-secret`,
            {
                role: role.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "ReadMasterSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: this.secretArn },
                        ...(db.kmsKeyArn
                            ? [
                                  {
                                      Sid: "DecryptMasterSecret",
                                      Effect: "Allow",
                                      Action: "kms:Decrypt",
                                      Resource: db.kmsKeyArn,
                                      Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`secretsmanager.${region}.amazonaws.com` } },
                                  },
                              ]
                            : []),
                    ],
                }),
            },
            { parent: this },
        );
        return document.name;
    }
}

/**
 * Throws one error listing every problem with the args, each saying what to do. Exported so
 * the checks can be tested without a deployment.
 */
/** The log group RDS exports an instance's log to. */
export function rdsLogGroupName(identifier: string, log: string): string {
    return `/aws/rds/instance/${identifier}/${log}`;
}

export function validateDatabaseArgs(name: string, args: DatabaseArgs, identifier = `${args.project}-${args.stack}`.toLowerCase()): void {
    const problems: string[] = [];
    if (!args.project || !args.stack) {
        problems.push("project and stack are required (they make the instance identifier <project>-<stack>)");
    } else if (!IDENTIFIER.test(identifier)) {
        problems.push(
            `the identifier "${identifier}" (from project and stack) is not a valid RDS identifier: use a letter first, then letters, digits and single hyphens, at most 63 characters`,
        );
    }
    const db = databaseSettings(args);
    if (!isEngine(db.engine)) {
        problems.push(`engine "${db.engine}" is not supported; use one of ${Object.keys(ENGINES).join(", ")}`);
    } else {
        for (const check of DATABASE_SETTING_CHECKS) {
            const p = check(db);
            if (p) problems.push(`${p.path} ${p.message}`);
        }
    }
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(db.logRetentionDays)) {
        problems.push(`logRetentionDays must be one of the retention periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(", ")}`);
    }
    if (!Number.isInteger(db.backupRetentionDays) || db.backupRetentionDays < 1 || db.backupRetentionDays > 35) {
        problems.push("backupRetentionDays must be 1 to 35 (0 would disable automated backups)");
    }
    if (Array.isArray(args.isolatedSubnetIds) && args.isolatedSubnetIds.length < 2) {
        problems.push("isolatedSubnetIds must name subnets in at least two zones (an RDS subnet group needs two; pass network.isolatedSubnetIds)");
    }
    if (args.securityGroupId === undefined || args.securityGroupId === "") {
        problems.push("securityGroupId is required (pass network.databaseSecurityGroupId)");
    }
    if (problems.length > 0) {
        throw new Error(`Database "${name}": ${problems.join("; ")}`);
    }
}
