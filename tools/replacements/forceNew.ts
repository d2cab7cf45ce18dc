/**
 * Which input changes replace a resource instead of updating it in place, for every resource
 * type this program creates (and the children awsx's Vpc creates at deploy time).
 *
 * Derived by hand from the public source of terraform-provider-aws, which @pulumi/aws bridges
 * (pulumi-terraform-bridge): a schema attribute with `ForceNew: true` (SDKv2) or a
 * `RequiresReplace` plan modifier (plugin framework) makes the bridged Pulumi property a
 * replacement trigger; `CustomizeDiff` ForceNew cases are listed in `conditional` and
 * implemented in `tools/replacements/analyze.ts`. Terraform's snake_case names are mapped to
 * Pulumi's camelCase input names (MaxItems=1 blocks become objects, other blocks pluralise:
 * `ebs_block_device` → `ebsBlockDevices`); `tests/replacements.test.ts` checks every path
 * against the `...Args` interfaces of the installed @pulumi/aws.
 *
 * `verified: true` means the file named in `source` was read (at that commit) for this table;
 * `unverified` lists paths taken from the provider's documented behaviour that were not read
 * from source here. The source index keeps several versions of a file: where the version at
 * `commit` predates inputs the installed @pulumi/aws has, a newer stored version was read too
 * and `alsoRead` names it (the index's file id; the index gives no commit for it). No fetched
 * provider code is part of this repository, only this table.
 */

/** Where the table was read from. */
export const PROVIDER_SOURCE = {
    pulumiAws: "7.48.0 (npm @pulumi/aws, published 2026-09-22)",
    upstream:
        "terraform-provider-aws v6.x, at least v6.46.0; the exact tag behind pulumi-aws v7.48.0 is not known. What was read: " +
        "pulumi-aws v7 tracks terraform-provider-aws v6 (pulumi/pulumi-aws#5665, 2025-07-17: upstream v6.3.0); the newest upgrade " +
        "found is pulumi/pulumi-aws#6392 (2026-05-22: upstream 6.45.0 -> 6.46.0); @pulumi/aws 7.48.0 was published 2026-09-22 " +
        "(npm registry), so its upstream is v6.46.0 or later. The stored pulumi-aws provider/go.mod and .gitmodules are from v6-era " +
        "commits (replace => ../upstream), not the v7.48.0 tag, and neither repository can be fetched whole here, so each rule " +
        "below names the commit of the file version it was read from.",
    repository: "github.com/hashicorp/terraform-provider-aws",
    derived: "2026-12-01",
    audit:
        "2026-12 re-check of the versions cited: the index's default version of a file is an arbitrary stored one, not the newest. Commit 01c08000… and " +
        "00e4b238… are v4-era (aws-sdk-go v1, no licence header), 00081ce4…, 0015dfcd…, 12565358…, 01606926… and 0073593e… v5-era, 00a35305… v6 (2026 header, " +
        "resource identity). Every v4-era rule and the v5 instance/association rules were re-read from the newest version the index holds (`alsoRead`); the RDS " +
        "instance (identifier updatable, backup_target ForceNew) and EC2 instance (instance_market_options ForceNew, ipv6_address_count updatable, architecture " +
        "CustomizeDiff) rules changed. The index holds no v6 rds/instance.go or ec2_instance.go: inputs newer than the versions read are named in each rule's note.",
} as const;

export interface ReplacementRule {
    /** The Terraform resource the Pulumi type is bridged from (null for Pulumi/awsx-only types). */
    tf: string | null;
    /** The schema file read, and the commit it was read at. */
    source?: { path: string; commit: string };
    /** The provider repository `source` is in, when it is not terraform-provider-aws (PROVIDER_SOURCE.repository). */
    repository?: string;
    /** A newer stored version of the same file that was read as well: its source-index file id and what it added. Where it differs, the rule follows it. */
    alsoRead?: string;
    /**
     * The provider generation the file at `source.commit` belongs to, where it was checked: `v4`
     * (aws-sdk-go v1, no licence header), `v5` (still has attributes v6 removed, or predates
     * resource identity), `v6` (resource-identity annotations, 2025-2026 headers). A v4 source
     * needs `alsoRead`, a newer version read as well, or the rule may be stale (the RDS
     * `identifier` was ForceNew in v4 and is updatable since v5); unset where not checked.
     */
    era?: "v4" | "v5" | "v6";
    /** True when `forceNew` was read from `source`. */
    verified: boolean;
    /** Pulumi input paths (`a.b` for nested blocks) whose change replaces the resource. */
    forceNew: string[];
    /** Replacement triggers believed from the provider's documentation but not read from source here. */
    unverified?: string[];
    /** CustomizeDiff cases: replaces only when `when` holds (implemented in analyze.ts). */
    conditional?: Array<{ path: string; when: string }>;
    /** The input that carries the resource's physical name, when the program may set it. */
    physicalName?: string;
    /** Why replacing (or deleting) this resource loses data or identity; absent for stateless resources. */
    holdsData?: string;
    note?: string;
}

const src = (path: string, commit: string) => ({ path: `internal/service/${path}`, commit });
const S3_SUB = (tf: string, path: string, commit: string, forceNew: string[], more: Partial<ReplacementRule> = {}): ReplacementRule => ({
    tf,
    source: src(path, commit),
    verified: true,
    forceNew,
    ...more,
    note: "Bucket sub-resources are keyed by the bucket name: pointing one at another bucket recreates it; their settings are put in place.",
});

export const REPLACEMENT_RULES: Record<string, ReplacementRule> = {
    // ---- EC2 / VPC
    "aws:ec2/vpc:Vpc": {
        tf: "aws_vpc", source: src("ec2/vpc_.go", "00081ce41cc691433ac19bf42227cdabffd0454d"), verified: true, era: "v5",
        forceNew: ["cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"],
        holdsData: "every subnet, ENI, instance, endpoint and security group lives inside the VPC",
    },
    "aws:ec2/subnet:Subnet": {
        tf: "aws_subnet", source: src("ec2/vpc_subnet.go", "00cda125a19d31754cb0d073cf551264c57955cb"), verified: true,
        forceNew: ["availabilityZone", "availabilityZoneId", "cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength", "ipv6IpamPoolId", "ipv6Native", "ipv6NetmaskLength", "outpostArn", "vpcId"],
        conditional: [{ path: "ipv6CidrBlock", when: "the subnet was created with assignIpv6AddressOnCreation" }],
    },
    "aws:ec2/securityGroup:SecurityGroup": {
        tf: "aws_security_group", source: src("ec2/vpc_security_group.go", "01606926a0c0ab9174aec440f976a48b0baee722"), verified: true, era: "v5",
        forceNew: ["description", "name", "namePrefix", "vpcId"], physicalName: "name",
        note: "ingress/egress blocks are updated in place (authorize/revoke).",
    },
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {
        tf: "aws_default_security_group", source: src("ec2/vpc_default_security_group.go", "01f431114674c27cf790fafb67ac274bf8f765e1"), verified: true,
        forceNew: ["vpcId"],
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
        tf: "aws_vpc_security_group_ingress_rule", source: src("ec2/vpc_security_group_ingress_rule.go", "00a322094b4b9ade8a81b244345dbcf4b52ee8d6"), verified: true,
        forceNew: ["securityGroupId"],
        conditional: [{ path: "cidrIpv4|cidrIpv6|prefixListId|referencedSecurityGroupId", when: "the rule's source changes kind (ModifyPlan: RequiresReplace)" }],
        note: "ports, protocol, CIDR and description are modified in place (ModifySecurityGroupRules).",
    },
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
        tf: "aws_vpc_security_group_egress_rule", source: src("ec2/vpc_security_group_egress_rule.go", "050ac11163cab8cdae5936a7f40b0e528ff780df"), verified: true,
        forceNew: ["securityGroupId"],
        conditional: [{ path: "cidrIpv4|cidrIpv6|prefixListId|referencedSecurityGroupId", when: "the rule's destination changes kind" }],
        note: "The egress file embeds resourceSecurityGroupRule (it only swaps the Authorize/Revoke calls), whose schema is the ingress rule's, read above.",
    },
    "aws:ec2/vpcEndpoint:VpcEndpoint": {
        tf: "aws_vpc_endpoint", source: src("ec2/vpc_endpoint.go", "008db85aad5e56627b1eecab8830464a282552ed"), verified: true,
        forceNew: ["dnsOptions.privateDnsPreference", "dnsOptions.privateDnsSpecifiedDomains", "resourceConfigurationArn", "serviceName", "serviceNetworkArn", "serviceRegion", "vpcEndpointType", "vpcId"],
        conditional: [{ path: "privateDnsEnabled", when: "the endpoint is not of type Interface" }],
        note: "subnetIds, routeTableIds, securityGroupIds and policy are modified in place.",
    },
    "aws:ec2/flowLog:FlowLog": {
        tf: "aws_flow_log", source: src("ec2/vpc_flow_log.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"), verified: true, era: "v6",
        forceNew: ["deliverCrossAccountRole", "destinationOptions", "eniId", "iamRoleArn", "logDestination", "logDestinationType", "logFormat", "maxAggregationInterval", "regionalNatGatewayId", "subnetId", "trafficType", "transitGatewayAttachmentId", "transitGatewayId", "vpcId"],
        note: "Update changes tags only: every other argument replaces the flow log.",
    },
    "aws:ec2/eip:Eip": {
        tf: "aws_eip", source: src("ec2/ec2_eip.go", "01606926a0c0ab9174aec440f976a48b0baee722"), verified: true, era: "v5",
        forceNew: ["address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool"],
        holdsData: "the public IPv4 address itself: a new Elastic IP has a different address (DNS and allow-lists break)",
    },
    "aws:ec2/eipAssociation:EipAssociation": {
        tf: "aws_eip_association", source: src("ec2/ec2_eip_association.go", "01c08000ddb14181b5bd19201d8fca311dc570e4"), verified: true, era: "v4",
        alsoRead: "source-index file 2074478975 (a v5 ec2_eip_association.go on aws-sdk-go-v2): still no Update, every argument ForceNew",
        forceNew: ["allocationId", "allowReassociation", "instanceId", "networkInterfaceId", "privateIpAddress", "publicIp"],
        note: "No update: any change re-associates.",
    },
    "aws:ec2/instance:Instance": {
        tf: "aws_instance", source: src("ec2/ec2_instance.go", "0015dfcd06d5d78e5e1c3cabe8cea837d379d1c7"), verified: true, era: "v5",
        alsoRead:
            "source-index file 1794561789 (a newer ec2_instance.go on aws-sdk-go-v2, the newest the index holds; still v5: deprecated cpu_core_count), which the rule follows: " +
            "instance_market_options is ForceNew, ipv6_address_count is no longer ForceNew, launch_template id/name are ForceNew and its version only through CustomizeDiff, " +
            "and CustomizeDiff forces a new instance when instance_type moves to a type that supports none of the old type's CPU architectures",
        forceNew: [
            "ami", "associatePublicIpAddress", "availabilityZone", "cpuOptions.amdSevSnp", "cpuOptions.coreCount", "cpuOptions.threadsPerCore",
            "ebsBlockDevices", "ebsOptimized", "enclaveOptions.enabled", "ephemeralBlockDevices", "hibernation", "hostId", "instanceMarketOptions", "ipv6Addresses", "keyName",
            "launchTemplate.id", "launchTemplate.name", "networkInterfaces", "placementGroup", "placementPartitionNumber", "privateDnsNameOptions", "privateIp",
            "rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId", "securityGroups", "subnetId", "tenancy",
        ],
        conditional: [
            { path: "userData", when: "userDataReplaceOnChange is true (otherwise the instance is stopped and started)" },
            { path: "userDataBase64", when: "userDataReplaceOnChange is true" },
            { path: "launchTemplate.version", when: "the running instance's template version differs" },
            { path: "instanceType", when: "the new type supports none of the old type's CPU architectures (t4g ↔ t3: arm64 ↔ x86_64)" },
            // Documented on the installed @pulumi/aws InstanceArgs (the input is newer than the schema read).
            { path: "enablePrimaryIpv6", when: "it goes from true to false (documented: disabling it forces recreation)" },
        ],
        holdsData: "its root and EBS volumes (unless delete-on-termination is off) and its private IP",
        note:
            "instanceType (same architecture), iamInstanceProfile, vpcSecurityGroupIds, ipv6AddressCount, rootBlockDevice size/type/iops/throughput, metadataOptions and monitoring " +
            "change in place (type changes stop and start it). Inputs newer than the version read (primaryNetworkInterface, secondaryNetworkInterfaces, placementGroupId) " +
            "were not read here.",
    },
    "aws:ec2/launchTemplate:LaunchTemplate": {
        tf: "aws_launch_template", source: src("ec2/ec2_launch_template.go", "025e4f81cab8553cb052aebfcc5987e2aa8c702a"), verified: true,
        forceNew: ["name", "namePrefix"],
        alsoRead: "source-index file 1700241859 (a newer ec2_launch_template.go): `name` and `name_prefix` are ForceNew",
        note: "No ForceNew in the template data: every change writes a new template version (the Auto Scaling group's instance refresh rolls it out); only the name replaces it.",
    },
    "aws:ec2/natGateway:NatGateway": {
        tf: "aws_nat_gateway", source: src("ec2/vpc_nat_gateway.go", "04088eaa54948421bf1ef7494ae2b2c01d9243e3"), verified: true,
        forceNew: ["allocationId", "availabilityMode", "connectivityType", "privateIp", "subnetId", "vpcId"],
        conditional: [
            { path: "secondaryPrivateIpAddressCount", when: "connectivityType is private (CustomizeDiff ForceNew on change)" },
            { path: "availabilityZoneAddresses", when: "a regional NAT gateway switches between automatic and listed zone addresses (empty <-> set)" },
        ],
        alsoRead: "source-index file 5469497972 (a newer vpc_nat_gateway.go, regional NAT gateways): adds ForceNew availability_mode and vpc_id, subnet_id becomes optional, and secondary_private_ip_address_count moves from ForceNew to a CustomizeDiff ForceNew for private gateways",
        note: "secondaryAllocationIds and secondaryPrivateIpAddresses are associated/assigned in place. The version at `commit` had secondary_private_ip_address_count as plain ForceNew.",
    },
    "aws:ec2/routeTable:RouteTable": {
        tf: "aws_route_table", source: src("ec2/vpc_route_table.go", "022092419b7cda11527df3c6b51cbfe1876c1722"), verified: true,
        forceNew: ["vpcId"], note: "Inline routes and propagatingVgws are added, replaced and removed in place.",
    },
    "aws:ec2/route:Route": {
        tf: "aws_route", source: src("ec2/vpc_route.go", "0128541e0711766f28540143a9d73738aced60aa"), verified: true,
        forceNew: ["destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId", "routeTableId"],
        note: "The target (gatewayId, natGatewayId, networkInterfaceId, ...) changes in place (ReplaceRoute).",
    },
    "aws:ec2/routeTableAssociation:RouteTableAssociation": {
        tf: "aws_route_table_association", source: src("ec2/vpc_route_table_association.go", "0be71beb458ad8875e0acc5c91519c0ceeb214aa"), verified: true,
        forceNew: ["gatewayId", "subnetId"], note: "routeTableId changes in place (ReplaceRouteTableAssociation).",
    },
    "aws:ec2/internetGateway:InternetGateway": {
        tf: "aws_internet_gateway", source: src("ec2/vpc_internet_gateway.go", "08923b68b5ad6fcfdd38362fb5247e39a9b07add"), verified: true,
        forceNew: [], note: "No ForceNew: vpcId is detached and attached in place.",
    },
    // ---- Auto Scaling
    "aws:autoscaling/group:Group": {
        tf: "aws_autoscaling_group", source: src("autoscaling/group.go", "00a919d1548eb437816d4838f320502ad34183ff"), verified: true,
        forceNew: ["initialLifecycleHooks", "name", "namePrefix"], physicalName: "name",
        alsoRead: "source-index file 1623807691 (a newer autoscaling/group.go): `name` and `name_prefix` are ForceNew",
        note: "launchTemplate, sizes, vpcZoneIdentifiers, targetGroupArns and instanceRefresh change in place.",
    },
    "aws:autoscaling/policy:Policy": {
        tf: "aws_autoscaling_policy", source: src("autoscaling/policy.go", "007ce0a8dd1d97df0e44eeaa5d467b8f1443f4d1"), verified: true,
        forceNew: ["autoscalingGroupName", "name"], note: "Everything else is re-put in place (PutScalingPolicy).",
    },
    // ---- IAM
    "aws:iam/role:Role": {
        tf: "aws_iam_role", source: src("iam/role.go", "0040ea6911af00bea2cca6dbb14e86829826ad8e"), verified: true,
        forceNew: ["name", "namePrefix", "path"], physicalName: "name",
        holdsData: "its identity: the role ARN and unique id that trust and resource policies elsewhere name",
    },
    "aws:iam/rolePolicy:RolePolicy": {
        tf: "aws_iam_role_policy", source: src("iam/role_policy.go", "02f97af85f89a04e8ed89f5e8b64a9a67f3cfe07"), verified: true,
        forceNew: ["name", "namePrefix", "role"],
    },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        tf: "aws_iam_role_policy_attachment", source: src("iam/role_policy_attachment.go", "04c79849dbe7fbe76c3054b364357bcdaade9ac5"), verified: true,
        forceNew: ["policyArn", "role"],
    },
    "aws:iam/instanceProfile:InstanceProfile": {
        tf: "aws_iam_instance_profile", source: src("iam/instance_profile.go", "013f1736b90439e5a19567a87d3e5cd11858c420"), verified: true,
        forceNew: ["name", "namePrefix", "path"], physicalName: "name",
    },
    "aws:iam/policy:Policy": {
        tf: "aws_iam_policy", source: src("iam/policy.go", "01ccd9a2d118a3e81a9649759bf14303526dc9e6"), verified: true,
        forceNew: ["description", "name", "namePrefix", "path"], physicalName: "name",
        note: "The policy document changes in place (a new default policy version).",
    },
    // ---- KMS
    "aws:kms/key:Key": {
        tf: "aws_kms_key", source: src("kms/key.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"), verified: true, era: "v6",
        forceNew: ["customKeyStoreId", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"],
        holdsData: "the key material: data encrypted under the old key is unreadable once it is deleted",
    },
    "aws:kms/alias:Alias": {
        tf: "aws_kms_alias", source: src("kms/alias.go", "01c08000ddb14181b5bd19201d8fca311dc570e4"), verified: true, era: "v4",
        alsoRead: "source-index file 1796884670 (a v5 kms/alias.go on aws-sdk-go-v2): name and name_prefix ForceNew, target_key_id updated in place",
        forceNew: ["name", "namePrefix"], physicalName: "name",
    },
    // ---- Load balancing
    "aws:lb/loadBalancer:LoadBalancer": {
        tf: "aws_lb", source: src("elbv2/load_balancer.go", "00edc94be7a89c4c485415cdec27094875f61bfc"), verified: true,
        forceNew: ["customerOwnedIpv4Pool", "internal", "loadBalancerType", "name", "namePrefix"], physicalName: "name",
        holdsData: "its DNS name: a new load balancer answers on a different name (records and clients that pinned it break)",
        note: "subnets, securityGroups, accessLogs and attributes change in place; CustomizeDiff adds NLB/GWLB-only cases.",
    },
    "aws:lb/listener:Listener": {
        tf: "aws_lb_listener", source: src("elbv2/listener.go", "01c08000ddb14181b5bd19201d8fca311dc570e4"), verified: true, era: "v4",
        alsoRead: "source-index file 2388045155 (a v5 elbv2/listener.go with mutual_authentication), read at load_balancer_arn: still the only ForceNew argument found",
        forceNew: ["loadBalancerArn"],
    },
    "aws:lb/targetGroup:TargetGroup": {
        tf: "aws_lb_target_group", source: src("elbv2/target_group.go", "013cfb4cddc9c44a28f34abad0c11768bcdb9b85"), verified: true,
        forceNew: ["ipAddressType", "name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId"], physicalName: "name",
    },
    "aws:lb/listenerRule:ListenerRule": {
        tf: "aws_lb_listener_rule", source: src("elbv2/listener_rule.go", "032c4f076a6cb8e54a85cb60f237cb80ab18b36b"), verified: true,
        forceNew: ["listenerArn"], note: "priority is explicitly not ForceNew (SetRulePriorities); actions, conditions and transforms are modified in place.",
    },
    "aws:lb/listenerCertificate:ListenerCertificate": {
        tf: "aws_lb_listener_certificate", source: src("elbv2/listener_certificate.go", "01f431114674c27cf790fafb67ac274bf8f765e1"), verified: true,
        forceNew: ["certificateArn", "listenerArn"], note: "No update at all: both arguments are ForceNew.",
    },
    // ---- RDS
    "aws:rds/instance:Instance": {
        tf: "aws_db_instance", source: src("rds/instance.go", "00e4b23838859616dd0ebc9d1fd9364c0f6bff22"), verified: true, era: "v4",
        alsoRead:
            "source-index file 1659451291 (a v5 rds/instance.go, the newest the index holds: no `name` or `security_group_names`, with backup_target, blue_green_update " +
            "and manage_master_user_password), which the rule follows: `identifier` and `identifier_prefix` are no longer ForceNew (Update sends NewDBInstanceIdentifier; " +
            "the file's own note: the identifier \"can be updated\"; terraform-provider-aws#507, #32687), `backup_target` is ForceNew; CustomizeDiff only validates blue/green updates",
        forceNew: [
            "availabilityZone", "backupTarget", "characterSetName", "customIamInstanceProfile", "dbName", "engine", "kmsKeyId",
            "ncharCharacterSetName", "restoreToPointInTime", "s3Import", "snapshotIdentifier", "storageEncrypted", "timezone", "username",
        ],
        // ModifyDBInstance has no EngineLifecycleSupport parameter (RDS API Reference, ModifyDBInstance), so the provider cannot change it in place.
        unverified: ["engineLifecycleSupport"],
        physicalName: "identifier",
        holdsData: "the database: a replacement is a new, empty instance (only a final snapshot, if taken, keeps the data)",
        note:
            "The identifier is renamed in place (ModifyDBInstance NewDBInstanceIdentifier; the endpoint changes). instanceClass, allocatedStorage, storageType, multiAz, " +
            "engineVersion, backups, parameter group, subnet group and security groups are modified in place. Inputs newer than the version read " +
            "(databaseInsightsMode, dedicatedLogVolume, domainFqdn/domainOu/domainAuthSecretArn/domainDnsIps, passwordWo, upgradeStorageConfig) are ModifyDBInstance " +
            "parameters or replica-only; their schema flags were not read here.",
    },
    "aws:rds/parameterGroup:ParameterGroup": {
        tf: "aws_db_parameter_group", source: src("rds/parameter_group.go", "01606926a0c0ab9174aec440f976a48b0baee722"), verified: true, era: "v5",
        forceNew: ["description", "family", "name", "namePrefix"], physicalName: "name",
    },
    "aws:rds/subnetGroup:SubnetGroup": {
        tf: "aws_db_subnet_group", source: src("rds/subnet_group.go", "01c08000ddb14181b5bd19201d8fca311dc570e4"), verified: true, era: "v4",
        alsoRead: "source-index file 1387041566 (a v5 rds/subnet_group.go on aws-sdk-go-v2): name ForceNew, description and subnet_ids updated in place",
        forceNew: ["name", "namePrefix"], physicalName: "name",
    },
    // ---- Route 53, ACM, CloudFront
    "aws:route53/zone:Zone": {
        tf: "aws_route53_zone", source: src("route53/zone.go", "036631a1dee59efb6d1986c0a19b373402bda29f"), verified: true,
        forceNew: ["delegationSetId", "name"],
        holdsData: "the zone's name servers: a new zone gets new ones, so the parent delegation must be updated or the domain stops resolving",
    },
    "aws:route53/record:Record": {
        tf: "aws_route53_record", source: src("route53/record.go", "00655c1681ea1e49ab10cd32d3f8bee372b2095b"), verified: true,
        forceNew: ["name", "zoneId"],
    },
    "aws:route53/healthCheck:HealthCheck": {
        tf: "aws_route53_health_check", source: src("route53/health_check.go", "01606926a0c0ab9174aec440f976a48b0baee722"), verified: true, era: "v5",
        forceNew: ["measureLatency", "referenceName", "requestInterval", "routingControlArn", "type"],
        note: "fqdn, port, resourcePath, searchString, thresholds and regions change in place (UpdateHealthCheck).",
    },
    "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec": {
        tf: "aws_route53_hosted_zone_dnssec", source: src("route53/hosted_zone_dnssec.go", "25f8086553a930315c69d85a1ddea06c3e15e703"), verified: true,
        forceNew: ["hostedZoneId"], note: "signingStatus changes in place (Enable/DisableHostedZoneDNSSEC).",
    },
    "aws:route53/keySigningKey:KeySigningKey": {
        tf: "aws_route53_key_signing_key", source: src("route53/key_signing_key.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"), verified: true, era: "v6",
        forceNew: ["hostedZoneId", "name"],
        holdsData: "the DNSSEC key: a new key needs a new DS record at the parent, or validating resolvers reject the zone",
        note: "keyManagementServiceArn is not ForceNew in the schema read, yet Update only (de)activates the key: a KMS key change plans as an update that does not move the key. Treat it as a key rotation to do by hand.",
    },
    "aws:route53/queryLog:QueryLog": {
        tf: "aws_route53_query_log", source: src("route53/query_log.go", "04c79849dbe7fbe76c3054b364357bcdaade9ac5"), verified: true,
        forceNew: ["cloudwatchLogGroupArn", "zoneId"], note: "No update: both arguments are ForceNew.",
    },
    "aws:acm/certificate:Certificate": {
        tf: "aws_acm_certificate", source: src("acm/certificate.go", "01661ea3cbe6b07ed725b03c587d24ceb464484a"), verified: true,
        forceNew: ["certificateAuthorityArn", "domainName", "keyAlgorithm", "subjectAlternativeNames", "validationMethod", "validationOptions"],
        note: "options (transparency logging, export) and earlyRenewalDuration change in place; CustomizeDiff only computes domain validation options and adds domainName to the SANs.",
    },
    "aws:acm/certificateValidation:CertificateValidation": {
        tf: "aws_acm_certificate_validation", source: src("acm/certificate_validation.go", "004eea7f9b6658d88d652e89e10c7520a10ad6b8"), verified: true,
        forceNew: ["certificateArn", "validationRecordFqdns"], note: "No update: both arguments are ForceNew (delete is a no-op).",
    },
    "aws:cloudfront/distribution:Distribution": {
        tf: "aws_cloudfront_distribution", verified: false, forceNew: [],
        holdsData: "its domain name (dxxxx.cloudfront.net): a new distribution answers on a different name",
        note: "Every argument of a distribution is updated in place (UpdateDistribution); not re-read here.",
    },
    "aws:cloudfront/originAccessControl:OriginAccessControl": {
        tf: "aws_cloudfront_origin_access_control", source: src("cloudfront/origin_access_control.go", "01c08000ddb14181b5bd19201d8fca311dc570e4"), verified: true, era: "v4",
        alsoRead: "source-index file 2300028062 (a v5 origin_access_control.go on aws-sdk-go-v2): still no ForceNew argument",
        forceNew: [], note: "No ForceNew: every argument is sent to UpdateOriginAccessControl.",
    },
    // ---- S3
    "aws:s3/bucket:Bucket": {
        tf: "aws_s3_bucket", source: src("s3/bucket.go", "0070bcd12c952f14c5434a6f351ef7b6fa791226"), verified: true,
        forceNew: ["bucket", "bucketPrefix", "objectLockEnabled"], physicalName: "bucket",
        alsoRead: "source-index file 446709073 (a newer s3/bucket.go): top-level `object_lock_enabled` is ForceNew (ConflictsWith the deprecated object_lock_configuration)",
        holdsData: "every object in it: a replacement is a new, empty bucket (the old one is deleted, or fails to delete while not empty)",
    },
    // Lifecycle is a plugin-framework resource: RequiresReplace plan modifiers on bucket and expected_bucket_owner.
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": S3_SUB("aws_s3_bucket_lifecycle_configuration", "s3/bucket_lifecycle_configuration.go", "01606926a0c0ab9174aec440f976a48b0baee722", ["bucket", "expectedBucketOwner"], { era: "v5" }),
    "aws:s3/bucketLogging:BucketLogging": S3_SUB("aws_s3_bucket_logging", "s3/bucket_logging.go", "01f431114674c27cf790fafb67ac274bf8f765e1", ["bucket", "expectedBucketOwner"]),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": S3_SUB("aws_s3_bucket_ownership_controls", "s3/bucket_ownership_controls.go", "01c08000ddb14181b5bd19201d8fca311dc570e4", ["bucket"], {
        era: "v4",
        alsoRead: "source-index file 1651648990 (a v5 s3/bucket_ownership_controls.go on aws-sdk-go-v2): bucket still the only ForceNew argument",
    }),
    "aws:s3/bucketPolicy:BucketPolicy": S3_SUB("aws_s3_bucket_policy", "s3/bucket_policy.go", "0073593e7d6993ba482409f4dc35438daaa79bb3", ["bucket"], { era: "v5" }),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": S3_SUB("aws_s3_bucket_public_access_block", "s3/bucket_public_access_block.go", "01606926a0c0ab9174aec440f976a48b0baee722", ["bucket"], { era: "v5" }),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": S3_SUB("aws_s3_bucket_server_side_encryption_configuration", "s3/bucket_server_side_encryption_configuration.go", "01606926a0c0ab9174aec440f976a48b0baee722", ["bucket", "expectedBucketOwner"], { era: "v5" }),
    "aws:s3/bucketVersioning:BucketVersioning": S3_SUB("aws_s3_bucket_versioning", "s3/bucket_versioning.go", "01c08000ddb14181b5bd19201d8fca311dc570e4", ["bucket", "expectedBucketOwner"], {
        era: "v4",
        alsoRead: "source-index file 2047336413 (a v5 s3/bucket_versioning.go with names.Attr constants): bucket and expected_bucket_owner still the only ForceNew arguments",
    }),
    "aws:s3/bucketObjectv2:BucketObjectv2": {
        tf: "aws_s3_object", source: src("s3/object.go", "033c721bf1eda7db79395cd73acb54c7efa57ffc"), verified: true,
        forceNew: ["bucket", "key"], note: "Content changes re-upload the object in place (a new version in a versioned bucket); resourceObjectCustomizeDiff was not read.",
    },
    // ---- Messaging, logs, events, alarms
    "aws:sns/topic:Topic": {
        tf: "aws_sns_topic", source: src("sns/topic.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"), verified: true, era: "v6",
        forceNew: ["fifoTopic", "name", "namePrefix"], physicalName: "name", note: "kmsMasterKeyId, policy and delivery settings are topic attributes set in place.",
    },
    "aws:sns/topicPolicy:TopicPolicy": {
        tf: "aws_sns_topic_policy", source: src("sns/topic_policy.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"), verified: true, era: "v6", forceNew: ["arn"],
    },
    "aws:sns/topicSubscription:TopicSubscription": {
        tf: "aws_sns_topic_subscription", source: src("sns/topic_subscription.go", "04a2e6e5bc625ec85ea8c678219b483fc674877e"), verified: true,
        forceNew: ["endpoint", "protocol", "topic"], note: "Terraform's topic_arn is Pulumi's `topic`; filter and delivery policies are set in place.",
    },
    "aws:cloudwatch/logGroup:LogGroup": {
        tf: "aws_cloudwatch_log_group", source: src("logs/group.go", "0073593e7d6993ba482409f4dc35438daaa79bb3"), verified: true, era: "v5",
        forceNew: ["logGroupClass", "name", "namePrefix"], physicalName: "name",
        holdsData: "the log events stored in it",
    },
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": {
        tf: "aws_cloudwatch_log_resource_policy", source: src("logs/resource_policy.go", "00a35305dc1b297a6fcdecdfbba33f1e63c3da39"), verified: true, era: "v6",
        forceNew: ["policyName", "resourceArn"], note: "The policy document is re-put in place.",
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        tf: "aws_cloudwatch_metric_alarm", source: src("cloudwatch/metric_alarm.go", "055611a654738da73e7b1e2b5d2b7672c6d4d531"), verified: true,
        forceNew: ["name"], note: "Terraform's alarm_name is Pulumi's `name`; everything else is re-put in place (PutMetricAlarm).",
    },
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": {
        tf: "aws_cloudwatch_composite_alarm", source: src("cloudwatch/composite_alarm.go", "050ac11163cab8cdae5936a7f40b0e528ff780df"), verified: true,
        forceNew: ["actionsEnabled", "alarmName"],
        alsoRead: "source-index file 2066217742 (a newer composite_alarm.go with actions_suppressor): actions_enabled and alarm_name are still ForceNew, actions_suppressor is not",
        note: "Turning actionsEnabled off replaces the alarm (it is ForceNew); alarmRule and actions change in place.",
    },
    "aws:cloudwatch/dashboard:Dashboard": {
        tf: "aws_cloudwatch_dashboard", source: src("cloudwatch/dashboard.go", "0620f2a6a126dfcbc4aecbc9a117b0fbea1656ff"), verified: true, forceNew: ["dashboardName"],
    },
    "aws:cloudwatch/eventRule:EventRule": {
        tf: "aws_cloudwatch_event_rule", source: src("events/rule.go", "0cdab4ae09a963535e03dde0bff4784afe8e3517"), verified: true,
        forceNew: ["eventBusName", "name", "namePrefix"], note: "Schedule, pattern, state and role are re-put in place (PutRule).",
    },
    "aws:cloudwatch/eventTarget:EventTarget": {
        tf: "aws_cloudwatch_event_target", source: src("events/target.go", "0762c41e2027fcd3cb8340d3e6886c6975fc0a59"), verified: true,
        forceNew: ["eventBusName", "rule", "targetId"], note: "arn, input and the target blocks are re-put in place (PutTargets).",
    },
    "aws:budgets/budget:Budget": {
        tf: "aws_budgets_budget", source: src("budgets/budget.go", "01d5888a070712729f1d55bb0918d299a3d2a140"), verified: true,
        forceNew: ["accountId", "name", "namePrefix"], note: "Limits, filters and notifications change in place (UpdateBudget).",
    },
    // ---- Systems Manager, DLM, Secrets Manager
    "aws:ssm/parameter:Parameter": {
        tf: "aws_ssm_parameter", source: src("ssm/parameter.go", "0073593e7d6993ba482409f4dc35438daaa79bb3"), verified: true, era: "v5",
        forceNew: ["dataType", "name"],
        conditional: [{ path: "tier", when: "it goes from Advanced to Standard" }],
        holdsData: "the parameter's value history (versions)",
    },
    "aws:ssm/document:Document": {
        tf: "aws_ssm_document", source: src("ssm/document.go", "0105d2191ae7e43ba37ba011b916843eddf361ed"), verified: true,
        forceNew: ["name"], note: "documentType is not ForceNew: content, format, type-independent fields and permissions are updated in place (a new document version).",
    },
    "aws:ssm/association:Association": {
        tf: "aws_ssm_association", source: src("ssm/association.go", "125653582e5d51acc9338d98ec2c83a80d9aad3f"), verified: true, era: "v5",
        alsoRead: "source-index file 2333388760 (the newest stored ssm/association.go, with tags): name (and the deprecated instance_id) ForceNew; everything else goes to UpdateAssociation",
        forceNew: ["name"], note: "The schema read also had the deprecated instance_id (ForceNew), which @pulumi/aws 7 no longer has; targets, schedule and parameters update in place.",
    },
    "aws:dlm/lifecyclePolicy:LifecyclePolicy": {
        tf: "aws_dlm_lifecycle_policy", source: src("dlm/lifecycle_policy.go", "0148137dc6fb802b97b74036846777ab15c0f9ad"), verified: true,
        forceNew: ["policyDetails.schedules.copyTags"],
        alsoRead: "source-index file 10928562790 (a newer lifecycle_policy.go with default policies), read through policy_details.schedule.create_rule: schedule.copy_tags is still the only ForceNew there; default_policy is not",
        note: "Everything else is updated in place (UpdateLifecyclePolicy).",
    },
    "aws:secretsmanager/secret:Secret": {
        tf: "aws_secretsmanager_secret", source: src("secretsmanager/secret.go", "00c21cedec069dd27093b175baf15bac6d4b30fe"), verified: true,
        forceNew: ["name", "namePrefix"], physicalName: "name",
        holdsData: "the secret value and its versions",
        note: "kmsKeyId, description, policy and replicas change in place.",
    },
    "aws:secretsmanager/secretVersion:SecretVersion": {
        tf: "aws_secretsmanager_secret_version", source: src("secretsmanager/secret_version.go", "0042e8ea0de293c6cd8b003f89f7f4d2fb5fcf31"), verified: true,
        forceNew: ["secretBinary", "secretId", "secretString", "secretStringWoVersion"], note: "A new value is a new version resource; versionStages move in place.",
    },
    "aws:ebs/volume:Volume": {
        tf: "aws_ebs_volume", source: src("ec2/ebs_volume.go", "0073593e7d6993ba482409f4dc35438daaa79bb3"), verified: true, era: "v5",
        forceNew: ["availabilityZone", "encrypted", "kmsKeyId", "multiAttachEnabled", "outpostArn", "snapshotId"],
        holdsData: "the data on the volume", note: "size, type, iops and throughput are modified in place (ModifyVolume).",
    },

    // ---- random (@pulumi/random 4.21.2 bridges terraform-provider-random; plugin framework)
    "random:index/randomId:RandomId": {
        tf: "random_id", repository: "github.com/hashicorp/terraform-provider-random",
        source: { path: "internal/provider/resource_id.go", commit: "2ed443ca906e9909a88806c285af4b8dec43b725" }, verified: true,
        // byte_length and prefix: RequiresReplace; keepers: RequiresReplaceIfValuesNotNull.
        forceNew: ["byteLength", "keepers", "prefix"],
        note: "A new id is generated exactly when it is replaced: a keeper set to null does not replace it.",
    },
};

/**
 * awsx's `Vpc` is a remote component: the awsx provider creates the VPC, its subnets, route
 * tables, internet gateway and NAT gateways at deploy time. Its inputs map onto those children:
 * a `cidrBlock` change replaces the `aws:ec2/vpc:Vpc` (cidr_block is ForceNew) and so every
 * subnet, route table and NAT gateway in it; a change to the subnet layout (`subnetSpecs`,
 * `subnetStrategy`, zone count or names) replaces the subnets (their cidr_block and
 * availability_zone are ForceNew) and what is attached to them, but keeps the VPC.
 */
export const AWSX_VPC = {
    type: "awsx:ec2:Vpc",
    replacesVpc: ["cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"],
    replacesSubnets: ["subnetSpecs", "subnetStrategy", "numberOfAvailabilityZones", "availabilityZoneNames", "availabilityZoneCidrMask"],
    changesNatGateways: ["natGateways"],
} as const;

/** Types that are no cloud resource of their own. */
export function isLogicalOnly(type: string): boolean {
    return type === "pulumi:pulumi:Stack" || type.startsWith("platform:") || type.startsWith("pulumi:providers:");
}
