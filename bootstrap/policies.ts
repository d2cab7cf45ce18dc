/**
 * The CI roles' permissions, built from what each stack's plan graph holds (its resource types,
 * names, regions, the roles it passes and the managed policies it attaches: StackFacts, written
 * by `npm run ci-permissions` into stacks.generated.json) and the table in iamTable.ts. Pure:
 * the bootstrap program calls it with the account's values, the README generator with
 * placeholders, the tests with both.
 *
 * - deploy (one per stack): the read and write actions of the stack's resource types, scoped as
 *   iamTable.ts says; iam:PassRole only to the services the stack's roles trust; managed policy
 *   attachments only of the policies the plan attaches; the stack's own state objects and its
 *   own secrets key; and deny statements that hold even where an allow is wide: nothing tagged
 *   for another stack, nothing that claims another stack's tag, no CI role or the identity
 *   provider, no change to the state bucket itself, no sts:AssumeRole.
 * - preview and drift (one each): the read actions of every stack's types, reading every stack's
 *   state and decrypting with the state key and the stacks' secrets keys. No write action.
 */
import { CI_ROLE_PATH, STATE_META_KEY, stateKeys } from "./naming";
import { INVOKE_PERMISSIONS, NO_PERMISSIONS, TYPE_PERMISSIONS } from "./iamTable";
import { boundaryArn } from "./boundary";

/** What the generator reads out of one stack's plan graph. */
export interface StackFacts {
    stack: string;
    project: string;
    /** `platform:environment` of the stack file. */
    environment: string;
    /** `aws:region` of the stack file. */
    region: string;
    /** Every region the stack's AWS providers use (replicas, us-east-1 for Route 53 health-check alarms). */
    regions: string[];
    /** Resource types that need permissions (awsx's Vpc replaced by the types it creates). */
    types: string[];
    /** Name patterns per type, already widened (see iamTable.ts). */
    names: Record<string, string[]>;
    /** Service principals the stack's roles trust (the services its roles are passed to). */
    passedServices: string[];
    /** Managed policies the stack attaches to its roles. */
    managedPolicyArns: string[];
    /** Data sources the program calls. */
    invokes: string[];
    /**
     * EC2 actions of the stack's CloudWatch alarms (`arn:aws:automate:<region>:ec2:<action>`:
     * stop, terminate, reboot, recover), which PutMetricAlarm checks on the caller.
     */
    alarmEc2Actions: string[];
    /** Every action the stack's roles' own policies (inline, and its own managed ones) name. */
    workloadActions: string[];
    /** The stack's roles that do not carry its CI permissions boundary (config iam.permissionsBoundary: ci). */
    rolesWithoutBoundary: string[];
}

export interface AccountContext {
    partition: string;
    account: string;
    /** The self-managed backend; absent with Pulumi Cloud. */
    state?: { bucket: string; keyArn: string; region: string };
    /** Each stack's secrets key (awskms:// provider); absent with Pulumi Cloud. */
    secretsKeyArns?: Record<string, string>;
}

export interface Statement {
    Sid: string;
    Effect: "Allow" | "Deny";
    Action: string[];
    Resource?: string[];
    NotResource?: string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: Statement[];
}

/**
 * Read actions that return data rather than configuration: scoped to the type's resources,
 * never granted on "*".
 */
export const DATA_READS = new Set(["s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters", "kms:Decrypt"]);

/** IAM's limit on one customer managed policy: 6,144 characters, whitespace not counted (IAM User Guide, "IAM and AWS STS quotas"). */
export const MANAGED_POLICY_MAX_CHARS = 6144;

interface ExpandVars {
    partition: string;
    account: string;
    region: string;
    project?: string;
    stack?: string;
}

function expand(template: string, vars: ExpandVars, names: string[]): string[] {
    if (/\$\{(Project|Stack)\}/.test(template) && (!vars.project || !vars.stack)) throw new Error(`${template}: \${Project}/\${Stack} need the stack`);
    const base = template
        .replace(/\$\{Partition\}/g, vars.partition)
        .replace(/\$\{Account\}/g, vars.account)
        .replace(/\$\{Region\}/g, vars.region)
        .replace(/\$\{Project\}/g, vars.project ?? "")
        .replace(/\$\{Stack\}/g, vars.stack ?? "");
    if (!base.includes("${Name}")) return [base];
    return names.map((n) => base.replace(/\$\{Name\}/g, n));
}

function uniqueSorted(values: Iterable<string>): string[] {
    return [...new Set(values)].sort();
}

/** The patterns that `${Name}` stands for in a type's ARNs. */
function namesOf(facts: StackFacts, type: string): string[] {
    const source = TYPE_PERMISSIONS[type]?.names;
    const from = source?.from ?? type;
    const names = facts.names[from] ?? [];
    const strip = TYPE_PERMISSIONS[from]?.names?.stripPrefix;
    return names.map((n) => (strip && n.startsWith(strip) ? n.slice(strip.length) : n));
}

/** ARN templates expanded for every region of the stack. */
function expandAll(facts: StackFacts, templates: string[], partition: string, account: string, names: string[]): string[] {
    return uniqueSorted(facts.regions.flatMap((region) => templates.flatMap((t) => expand(t, { partition, account, region, project: facts.project, stack: facts.stack }, names))));
}

/** The type's resource ARNs in every region of the stack. */
function typeResources(facts: StackFacts, type: string, partition: string, account: string): string[] {
    return expandAll(facts, TYPE_PERMISSIONS[type].resources, partition, account, namesOf(facts, type));
}

/** The ARN patterns of the stack's own roles (the roles its deploy role manages and passes). */
export function stackRoleArns(facts: StackFacts, ctx: AccountContext): string[] {
    return facts.types.includes("aws:iam/role:Role") ? typeResources(facts, "aws:iam/role:Role", ctx.partition, ctx.account) : [];
}

/** What the type's data reads are scoped to: `readResources` with the type's own names, else its resources. */
function readResources(facts: StackFacts, type: string, partition: string, account: string): string[] {
    const p = TYPE_PERMISSIONS[type];
    return p.readResources ? expandAll(facts, p.readResources, partition, account, facts.names[type] ?? []) : typeResources(facts, type, partition, account);
}

function unknownTypes(facts: StackFacts): string[] {
    return facts.types.filter((t) => !NO_PERMISSIONS.test(t) && !TYPE_PERMISSIONS[t]);
}

/** Fails with every type and data source the table does not know, naming the file to extend. */
export function assertKnown(facts: StackFacts[]): void {
    const types = uniqueSorted(facts.flatMap(unknownTypes));
    const invokes = uniqueSorted(facts.flatMap((f) => f.invokes.filter((i) => !INVOKE_PERMISSIONS[i])));
    if (types.length + invokes.length > 0) {
        throw new Error(`bootstrap/iamTable.ts has no permissions for ${[...types.map((t) => `resource type ${t}`), ...invokes.map((i) => `data source ${i}`)].join(", ")}: add them (with their source) before the CI roles can be generated`);
    }
}

/** Merges statements with the same effect, resources and condition; sorted, with stable Sids. */
function merge(prefix: string, statements: Array<Omit<Statement, "Sid">>): Statement[] {
    const byKey = new Map<string, Omit<Statement, "Sid">>();
    for (const s of statements) {
        if (s.Action.length === 0) continue;
        const key = JSON.stringify([s.Effect, s.Resource ?? null, s.NotResource ?? null, s.Condition ?? null]);
        const prior = byKey.get(key);
        if (prior) prior.Action = uniqueSorted([...prior.Action, ...s.Action]);
        else byKey.set(key, { ...s, Action: uniqueSorted(s.Action) });
    }
    return [...byKey.values()].map((s, i) => ({ Sid: `${prefix}${i + 1}`, ...s }));
}

/** The actions that read the types' configuration, split into "*" and the data reads scoped to the types. */
function readStatements(factsList: StackFacts[], partition: string, account: string, sidPrefix: string): Statement[] {
    const everywhere = new Set<string>();
    const scoped: Array<Omit<Statement, "Sid">> = [];
    for (const facts of factsList) {
        for (const type of facts.types) {
            const p = TYPE_PERMISSIONS[type];
            if (!p) continue;
            const data = p.read.filter((a) => DATA_READS.has(a));
            p.read.filter((a) => !DATA_READS.has(a)).forEach((a) => everywhere.add(a));
            if (data.length > 0) scoped.push({ Effect: "Allow", Action: data, Resource: readResources(facts, type, partition, account) });
        }
        for (const token of facts.invokes) {
            const inv = INVOKE_PERMISSIONS[token];
            if (!inv || inv.actions.length === 0) continue;
            if (inv.resources.includes("*")) inv.actions.forEach((a) => everywhere.add(a));
            else scoped.push({ Effect: "Allow", Action: inv.actions, Resource: uniqueSorted(facts.regions.flatMap((region) => inv.resources.flatMap((t) => expand(t, { partition, account, region }, [])))) });
        }
    }
    // Data reads listed as scoped must not also be granted on "*" through another type's row.
    const everywhereList = [...everywhere].filter((a) => !DATA_READS.has(a));
    const merged = merge(`${sidPrefix}Scoped`, scoped.map((s) => ({ ...s, Resource: uniqueSorted(s.Resource!) })));
    return [{ Sid: `${sidPrefix}Configuration`, Effect: "Allow", Action: uniqueSorted(everywhereList), Resource: ["*"] }, ...combineScoped(merged, `${sidPrefix}Scoped`)];
}

/** Scoped statements with the same actions get one statement with every resource. */
function combineScoped(statements: Statement[], prefix: string): Statement[] {
    const byActions = new Map<string, Statement>();
    for (const s of statements) {
        const key = JSON.stringify([s.Action, s.Condition ?? null]);
        const prior = byActions.get(key);
        if (prior) prior.Resource = uniqueSorted([...prior.Resource!, ...s.Resource!]);
        else byActions.set(key, { ...s });
    }
    return [...byActions.values()].map((s, i) => ({ ...s, Sid: `${prefix}${i + 1}` }));
}

/** Read-only access to the state of the given stacks (project layout), for preview and drift. */
function stateRead(ctx: AccountContext, factsList: StackFacts[]): Statement[] {
    if (!ctx.state) return [];
    const bucket = `arn:${ctx.partition}:s3:::${ctx.state.bucket}`;
    const projects = uniqueSorted(factsList.map((f) => f.project));
    return [
        // Unconditioned: without s3:ListBucket, S3 answers 403 instead of 404 for a missing key (a
        // stack without a tags file), which the backend reads as a failure (Amazon S3 API
        // Reference, GetObject, "Permissions").
        { Sid: "StateList", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucket] },
        { Sid: "StateRead", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucket}/${STATE_META_KEY}`, ...projects.map((p) => `${bucket}/.pulumi/stacks/${p}/*`)] },
        { Sid: "StateDecrypt", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [ctx.state.keyArn], Condition: { StringEquals: { "kms:ViaService": `s3.${ctx.state.region}.amazonaws.com` } } },
    ];
}

/** Decrypting the stacks' secrets (the awskms:// provider decrypts the stack's data key at every run). */
function secretsDecrypt(ctx: AccountContext, factsList: StackFacts[]): Statement[] {
    const keys = uniqueSorted(factsList.map((f) => ctx.secretsKeyArns?.[f.stack]).filter((k): k is string => !!k));
    return keys.length > 0 ? [{ Sid: "SecretsDecrypt", Effect: "Allow", Action: ["kms:Decrypt"], Resource: keys }] : [];
}

/** The read-only role of pull-request previews or of the drift check: every stack's configuration and state, no write. */
export function readOnlyPolicy(purpose: "preview" | "drift", factsList: StackFacts[], ctx: AccountContext): PolicyDocument {
    assertKnown(factsList);
    const statements: Statement[] = [...readStatements(factsList, ctx.partition, ctx.account, "Read"), ...stateRead(ctx, factsList), ...secretsDecrypt(ctx, factsList)];
    if (purpose === "drift") {
        // The drift job's subscription report lists each stack's alert topic (drift.yml).
        const topics = uniqueSorted(factsList.flatMap((f) => f.regions.map((r) => `arn:${ctx.partition}:sns:${r}:${ctx.account}:${f.project}-${f.stack}-alerts`)));
        statements.push({ Sid: "AlertSubscriptions", Effect: "Allow", Action: ["sns:ListSubscriptionsByTopic"], Resource: topics });
    }
    return { Version: "2012-10-17", Statement: statements };
}

const IAM_ATTACH = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"];

/**
 * The calls that give a role permissions: allowed only while the role carries (or is given) the
 * stack's permissions boundary, the `iam:PermissionsBoundary` condition key (IAM User Guide,
 * "Permissions boundaries for IAM entities", delegating responsibility: "CreateOrChangeOnlyWithBoundary").
 * Without it a deploy role that may CreateRole, PutRolePolicy and pass the role to EC2 could give
 * itself, through an instance, anything: in one account, prod's reviewers would protect nothing.
 */
export const BOUNDED_IAM_ACTIONS = ["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy"];

/**
 * EC2 actions of CloudWatch alarms, checked on the caller of PutMetricAlarm (Amazon CloudWatch API
 * Reference, PutMetricAlarm, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html):
 * ec2:DescribeInstanceStatus and ec2:DescribeInstances for every alarm on EC2 instance status
 * metrics; ec2:StopInstances / ec2:TerminateInstances for stop / terminate actions; and
 * iam:CreateServiceLinkedRole for every alarm with EC2 actions (CloudWatch creates
 * AWSServiceRoleForCloudWatchEvents, trusted by events.amazonaws.com, on the first one). The
 * service-linked role is created by CloudWatch and never deleted by a stack's destroy: no stack
 * owns it, so one stack's removal cannot break another's alarms.
 */
function alarmEc2Statements(facts: StackFacts, partition: string, account: string): { statements: Statement[]; serviceLinked: string[] } {
    if (facts.alarmEc2Actions.length === 0) return { statements: [], serviceLinked: [] };
    const instanceActions = facts.alarmEc2Actions.flatMap((a) => (a === "stop" ? ["ec2:StopInstances"] : a === "terminate" ? ["ec2:TerminateInstances"] : []));
    const statements: Statement[] = [{ Sid: "AlarmEc2ActionsDescribe", Effect: "Allow", Action: ["ec2:DescribeInstanceStatus", "ec2:DescribeInstances"], Resource: ["*"] }];
    if (instanceActions.length > 0) {
        statements.push({ Sid: "AlarmEc2ActionsInstances", Effect: "Allow", Action: uniqueSorted(instanceActions), Resource: expandAll(facts, ["arn:${Partition}:ec2:${Region}:${Account}:instance/*"], partition, account, []) });
    }
    return { statements, serviceLinked: ["events.amazonaws.com"] };
}

/** The deploy role of one stack: what `pulumi up` of exactly this stack needs, and the deny statements. */
export function deployPolicy(facts: StackFacts, ctx: AccountContext): PolicyDocument {
    assertKnown([facts]);
    const { partition, account } = ctx;
    if (facts.rolesWithoutBoundary.length > 0) {
        throw new Error(`stack ${facts.stack} creates roles without its CI permissions boundary (${facts.rolesWithoutBoundary.join(", ")}): set platform:iam: { permissionsBoundary: ci } in Pulumi.${facts.stack}.yaml, then npm run ci-permissions -- --write`);
    }
    const boundary = boundaryArn(facts, ctx);
    const withBoundary = { StringEquals: { "iam:PermissionsBoundary": boundary } };
    const writes: Array<Omit<Statement, "Sid">> = [];
    let passes = false;
    const serviceLinked = new Set<string>();
    for (const type of facts.types) {
        const p = TYPE_PERMISSIONS[type];
        if (!p || p.write.length === 0) continue;
        const resources = typeResources(facts, type, partition, account);
        const anywhere = p.onAnyResource ?? [];
        const actions = p.write.filter((a) => !IAM_ATTACH.includes(a) && !anywhere.includes(a) && !BOUNDED_IAM_ACTIONS.includes(a));
        writes.push({ Effect: "Allow", Action: actions, Resource: resources });
        const bounded = p.write.filter((a) => BOUNDED_IAM_ACTIONS.includes(a) && !IAM_ATTACH.includes(a));
        if (bounded.length > 0) writes.push({ Effect: "Allow", Action: bounded, Resource: resources, Condition: withBoundary });
        if (anywhere.length > 0) writes.push({ Effect: "Allow", Action: anywhere, Resource: ["*"] });
        for (const check of p.callerChecks ?? []) writes.push({ Effect: "Allow", Action: check.actions, Resource: expandAll(facts, check.resources, partition, account, []) });
        if (p.write.some((a) => IAM_ATTACH.includes(a))) {
            // Only the managed policies the plan attaches (and the ones the stack creates itself);
            // attaching also only to a role that carries the boundary.
            const own = (facts.names["aws:iam/policy:Policy"] ?? []).map((n) => `arn:${partition}:iam::${account}:policy/${n}`);
            const allowed = uniqueSorted([...facts.managedPolicyArns, ...own]);
            if (allowed.length > 0) {
                const policyArn = { "iam:PolicyARN": allowed };
                if (p.write.includes("iam:AttachRolePolicy")) writes.push({ Effect: "Allow", Action: ["iam:AttachRolePolicy"], Resource: resources, Condition: { ArnEquals: policyArn, ...withBoundary } });
                if (p.write.includes("iam:DetachRolePolicy")) writes.push({ Effect: "Allow", Action: ["iam:DetachRolePolicy"], Resource: resources, Condition: { ArnEquals: policyArn } });
            }
        }
        passes ||= p.passesRole === true;
        (p.serviceLinkedRoles ?? []).forEach((s) => serviceLinked.add(s));
    }
    const alarms = alarmEc2Statements(facts, partition, account);
    alarms.serviceLinked.forEach((s) => serviceLinked.add(s));
    const statements: Statement[] = [
        ...readStatements([facts], partition, account, "Read"),
        ...merge("Write", writes.map((w) => ({ ...w, Resource: uniqueSorted(w.Resource!) }))),
        ...alarms.statements,
    ];
    const roles = typeResources(facts, "aws:iam/role:Role", partition, account);
    if (passes && facts.passedServices.length > 0 && facts.types.includes("aws:iam/role:Role")) {
        statements.push({ Sid: "PassOwnRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: roles, Condition: { StringEquals: { "iam:PassedToService": uniqueSorted(facts.passedServices) } } });
    }
    if (serviceLinked.size > 0) {
        statements.push({
            Sid: "ServiceLinkedRoles",
            Effect: "Allow",
            Action: ["iam:CreateServiceLinkedRole"],
            Resource: [`arn:${partition}:iam::${account}:role/aws-service-role/*`],
            Condition: { StringEquals: { "iam:AWSServiceName": uniqueSorted(serviceLinked) } },
        });
    }
    if (ctx.state) {
        const bucket = `arn:${partition}:s3:::${ctx.state.bucket}`;
        const keys = stateKeys(facts.project, facts.stack);
        statements.push(
            // Unconditioned, for the 403-for-missing-key rule (see stateRead).
            { Sid: "StateList", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucket] },
            { Sid: "StateMeta", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucket}/${STATE_META_KEY}`] },
            {
                Sid: "StateOfThisStack",
                Effect: "Allow",
                Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                Resource: [...keys.files.map((k) => `${bucket}/${k}`), ...keys.prefixes.map((k) => `${bucket}/${k}*`)],
            },
            {
                Sid: "StateKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                Resource: [ctx.state.keyArn],
                Condition: { StringEquals: { "kms:ViaService": `s3.${ctx.state.region}.amazonaws.com` } },
            },
        );
    }
    const secretsKey = ctx.secretsKeyArns?.[facts.stack];
    // Encrypt: the awskms:// provider encrypts a new data key when `upsert` creates the stack.
    if (secretsKey) statements.push({ Sid: "SecretsKeyOfThisStack", Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt"], Resource: [secretsKey] });
    statements.push(...denyStatements(facts, ctx));
    return { Version: "2012-10-17", Statement: statements };
}

/** What no allow above may open, written as explicit denies (an explicit deny wins over any allow). */
function denyStatements(facts: StackFacts, ctx: AccountContext): Statement[] {
    const { partition, account } = ctx;
    const bootstrapOwned = ctx.state ? [`arn:${partition}:s3:::${ctx.state.bucket}`, `arn:${partition}:s3:::${ctx.state.bucket}/*`, ctx.state.keyArn] : [];
    const own = ctx.secretsKeyArns?.[facts.stack];
    const out: Statement[] = [
        {
            // Every resource that carries another stack's Stack tag (the provider's default tags put
            // one on everything a stack creates); the state bucket and key are the bootstrap's and
            // are held to the allows above instead.
            Sid: "DenyOtherStacksResources",
            Effect: "Deny",
            Action: ["*"],
            ...(bootstrapOwned.length > 0 ? { NotResource: bootstrapOwned } : { Resource: ["*"] }),
            Condition: { StringNotEquals: { "aws:ResourceTag/Stack": facts.stack }, Null: { "aws:ResourceTag/Stack": "false" } },
        },
        {
            Sid: "DenyOtherStacksTags",
            Effect: "Deny",
            Action: ["*"],
            Resource: ["*"],
            Condition: { StringNotEquals: { "aws:RequestTag/Stack": facts.stack }, Null: { "aws:RequestTag/Stack": "false" } },
        },
        {
            // The CI roles, their policies and GitHub's identity provider: a deploy role never widens itself.
            Sid: "DenyCiIdentity",
            Effect: "Deny",
            Action: ["iam:*"],
            Resource: [`arn:${partition}:iam::${account}:role${CI_ROLE_PATH}*`, `arn:${partition}:iam::${account}:policy${CI_ROLE_PATH}*`, `arn:${partition}:iam::${account}:oidc-provider/*`],
        },
        // Roles the stack creates could trust this role; it never assumes one.
        { Sid: "DenyAssumeRole", Effect: "Deny", Action: ["sts:AssumeRole"], Resource: ["*"] },
        // A role keeps its boundary: removing it would lift the limit the allows above rely on.
        // (The boundary policy itself is under /ci/: DenyCiIdentity keeps it as the bootstrap wrote it.)
        { Sid: "DenyRemovingPermissionsBoundaries", Effect: "Deny", Action: ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"], Resource: ["*"] },
    ];
    if (ctx.state) {
        out.push({
            // The bucket's own settings (policy, encryption, versioning, lifecycle) are the bootstrap's.
            Sid: "DenyStateBucketSettings",
            Effect: "Deny",
            Action: ["s3:PutBucket*", "s3:DeleteBucket*", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration"],
            Resource: [`arn:${partition}:s3:::${ctx.state.bucket}`],
        });
        // The state key only as S3 uses it for this role's objects: no direct Decrypt, no administration
        // (kms:ViaService is absent on a direct call, and a negated operator matches a missing key).
        out.push({
            Sid: "DenyStateKeyOutsideS3",
            Effect: "Deny",
            Action: ["kms:*"],
            Resource: [ctx.state.keyArn],
            Condition: { StringNotEquals: { "kms:ViaService": `s3.${ctx.state.region}.amazonaws.com` } },
        });
    }
    const others = Object.entries(ctx.secretsKeyArns ?? {}).filter(([stack]) => stack !== facts.stack).map(([, arn]) => arn);
    if (others.length > 0) out.push({ Sid: "DenyOtherStacksSecretsKeys", Effect: "Deny", Action: ["kms:*"], Resource: uniqueSorted(others) });
    if (own) {
        out.push({
            Sid: "DenySecretsKeyAdministration",
            Effect: "Deny",
            Action: ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateGrant", "kms:UpdateKeyDescription", "kms:TagResource", "kms:UntagResource"],
            Resource: [own],
        });
    }
    return out;
}

/** A policy document as IAM measures it: JSON without whitespace. */
export function policySize(doc: PolicyDocument): number {
    return JSON.stringify(doc).length;
}

/**
 * Splits a document into documents under the managed-policy limit, statement by statement (the
 * role gets all of them: one role may have 10 managed policies attached by default).
 */
export function splitPolicy(doc: PolicyDocument, max: number = MANAGED_POLICY_MAX_CHARS): PolicyDocument[] {
    const out: PolicyDocument[] = [];
    let current: Statement[] = [];
    const sizeOf = (statements: Statement[]) => policySize({ Version: "2012-10-17", Statement: statements });
    for (const statement of doc.Statement.flatMap((s) => splitStatement(s, max))) {
        if (current.length > 0 && sizeOf([...current, statement]) > max) {
            out.push({ Version: "2012-10-17", Statement: current });
            current = [];
        }
        current.push(statement);
    }
    if (current.length > 0) out.push({ Version: "2012-10-17", Statement: current });
    return out;
}

/** A statement too large for one policy, split by its actions. */
function splitStatement(s: Statement, max: number): Statement[] {
    const size = (st: Statement) => policySize({ Version: "2012-10-17", Statement: [st] });
    if (size(s) <= max || s.Action.length < 2) return [s];
    const half = Math.ceil(s.Action.length / 2);
    return [
        ...splitStatement({ ...s, Sid: `${s.Sid}a`, Action: s.Action.slice(0, half) }, max),
        ...splitStatement({ ...s, Sid: `${s.Sid}b`, Action: s.Action.slice(half) }, max),
    ];
}
