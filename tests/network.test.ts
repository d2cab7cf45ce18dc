import { strict as assert } from "assert";
import { layoutSubnets } from "../components/network/subnetLayout";
import { GraphResource } from "../tools/graph";
import { OfflineResult } from "../tools/offline";
import { runPolicies } from "../tools/policyCheck";
import { byType, json, one, stackRun } from "./support/stacks";

const EXPECTED = {
    dev: { cidr: "10.10.0.0/16", azs: 2, nat: "None", endpoints: false, retention: 14, traffic: "REJECT" },
    prod: { cidr: "10.20.0.0/16", azs: 3, nat: "OnePerAz", endpoints: true, retention: 365, traffic: "ALL" },
} as const;

for (const stack of ["dev", "prod"] as const) {
    describe(`Network (${stack})`, () => {
        let run: OfflineResult;
        let resources: GraphResource[];
        let network: GraphResource;
        const expected = EXPECTED[stack];
        before(async () => {
            run = await stackRun(stack);
            resources = run.graph.resources;
            network = one(resources, "platform:network:Network");
        });
        const children = () => resources.filter((r) => r.parent === network.urn);

        it("passes the per-environment VPC arguments to awsx", () => {
            const vpc = one(resources, "awsx:ec2:Vpc");
            assert.equal(vpc.parent, network.urn);
            assert.equal(vpc.remote, true);
            assert.equal(vpc.inputs.cidrBlock, expected.cidr);
            assert.equal(vpc.inputs.numberOfAvailabilityZones, expected.azs);
            assert.deepEqual(vpc.inputs.natGateways, { strategy: expected.nat });
            assert.equal(vpc.inputs.enableDnsHostnames, true);
            const layout = layoutSubnets(expected.cidr, expected.azs, { public: 24, private: 20, isolated: 24 });
            assert.ok(!Array.isArray(layout));
            assert.deepEqual(vpc.inputs.subnetSpecs, [
                { type: "Public", name: "public", cidrBlocks: layout.tiers.public },
                { type: "Private", name: "private", cidrBlocks: layout.tiers.private },
                { type: "Isolated", name: "isolated", cidrBlocks: layout.tiers.isolated },
            ]);
        });

        it("attaches the S3 gateway endpoint to every private and isolated route table, after the VPC", () => {
            const endpoint = one(resources, "aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3");
            const vpc = one(resources, "awsx:ec2:Vpc");
            assert.equal(endpoint.inputs.vpcEndpointType, "Gateway");
            assert.equal(endpoint.inputs.serviceName, "com.amazonaws.us-east-1.s3");
            const lookup = run.invokes.filter((i) => i.token === "aws:ec2/getRouteTables:getRouteTables");
            assert.equal(lookup.length, 1);
            const outputs = run.graph.outputs as Record<string, string[]>;
            const wanted = [...outputs.privateSubnetIds, ...outputs.isolatedSubnetIds];
            assert.equal(wanted.length, 2 * expected.azs);
            assert.deepEqual(lookup[0].args.filters, [{ name: "association.subnet-id", values: wanted }]);
            const tables = endpoint.inputs.routeTableIds as string[];
            assert.equal(tables.length, 2 * expected.azs, "one route table per private and isolated subnet");
            assert.deepEqual(tables, outputs.privateRouteTableIds);
            assert.ok(endpoint.dependencies.includes(vpc.urn), "the endpoint waits for the awsx VPC");
            assert.ok(endpoint.propertyDependencies.routeTableIds.includes(vpc.urn));
        });

        it(expected.endpoints ? "creates the SSM interface endpoints with their own security group" : "creates no interface endpoints", () => {
            const interfaces = byType(resources, "aws:ec2/vpcEndpoint:VpcEndpoint").filter((r) => r.inputs.vpcEndpointType === "Interface");
            if (!expected.endpoints) {
                assert.equal(interfaces.length, 0);
                return;
            }
            assert.deepEqual(interfaces.map((r) => r.inputs.serviceName).sort(), ["com.amazonaws.us-east-1.ec2messages", "com.amazonaws.us-east-1.ssm", "com.amazonaws.us-east-1.ssmmessages"]);
            const sg = one(resources, "aws:ec2/securityGroup:SecurityGroup", "network-endpoints");
            const outputs = run.graph.outputs as Record<string, string[]>;
            for (const endpoint of interfaces) {
                assert.equal(endpoint.inputs.privateDnsEnabled, true);
                assert.deepEqual(endpoint.inputs.securityGroupIds, [sg.id]);
                assert.deepEqual(endpoint.inputs.subnetIds, outputs.privateSubnetIds.slice(0, expected.azs));
            }
            const rule = one(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "network-endpoints-in-https");
            assert.deepEqual([rule.inputs.cidrIpv4, rule.inputs.fromPort, rule.inputs.toPort], [expected.cidr, 443, 443]);
        });

        it("sends flow logs to an encrypted-at-rest log group through a least-privilege role", () => {
            const group = one(resources, "aws:cloudwatch/logGroup:LogGroup", "network-flow-logs");
            const role = one(resources, "aws:iam/role:Role", "network-flow-logs");
            const policy = one(resources, "aws:iam/rolePolicy:RolePolicy", "network-flow-logs");
            const flowLog = one(resources, "aws:ec2/flowLog:FlowLog");
            assert.equal(group.inputs.retentionInDays, expected.retention);
            assert.deepEqual(json(role.inputs.assumeRolePolicy), {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } }],
            });
            const groupArn = `arn:aws:logs:us-east-1:123456789012:log-group:${(group.inputs.name as string | undefined) ?? ""}`;
            const statement = json(policy.inputs.policy).Statement;
            assert.equal(statement.length, 1);
            assert.deepEqual(statement[0].Action, ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]);
            assert.equal(statement[0].Resource.length, 2);
            assert.ok(statement[0].Resource[0].startsWith(groupArn.replace(/:$/, "")), statement[0].Resource[0]);
            assert.equal(statement[0].Resource[1], `${statement[0].Resource[0]}:*`);
            assert.equal(flowLog.inputs.trafficType, expected.traffic);
            assert.equal(flowLog.inputs.logDestinationType, "cloud-watch-logs");
            assert.ok(flowLog.dependencies.includes(role.urn) && flowLog.dependencies.includes(group.urn));
        });

        it("locks the default security group down to no rules", () => {
            const sg = one(resources, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
            assert.deepEqual(sg.inputs.ingress, []);
            assert.deepEqual(sg.inputs.egress, []);
        });

        it("admits only tier-to-tier traffic; only the load balancer's 80/443 are open to the internet", () => {
            const alb = one(resources, "aws:ec2/securityGroup:SecurityGroup", "network-alb");
            const app = one(resources, "aws:ec2/securityGroup:SecurityGroup", "network-app");
            const db = one(resources, "aws:ec2/securityGroup:SecurityGroup", "network-db");
            const ingress = byType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.parent === network.urn);
            const open = ingress.filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0");
            assert.equal(open.length, 4);
            for (const rule of open) {
                assert.equal(rule.inputs.securityGroupId, alb.id);
                assert.ok([80, 443].includes(rule.inputs.fromPort as number) && rule.inputs.fromPort === rule.inputs.toPort);
            }
            const appIn = ingress.filter((r) => r.inputs.securityGroupId === app.id);
            assert.deepEqual(appIn.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort]), [[alb.id, 8080]]);
            const dbIn = ingress.filter((r) => r.inputs.securityGroupId === db.id);
            assert.deepEqual(dbIn.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort]), [[app.id, 5432]]);
            assert.ok(!ingress.some((r) => r.inputs.fromPort === 22 || r.inputs.fromPort === 3389), "no SSH or RDP ingress");
            const dbEgress = byType(resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === db.id);
            // Nothing else in the stack opens SSH or RDP to anyone.
            assert.ok(!byType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").some((r) => [22, 3389].includes(r.inputs.fromPort as number)));
            assert.equal(dbEgress.length, 0, "the database tier initiates nothing");
        });

        it("lets the app tier reach S3 on port 80 and nothing else there: the SSM agent's bucket-region lookup", async () => {
            // amazon-ssm-agent, agent/s3util (GetS3Header): before uploading command output the agent HEADs
            // http://<bucket>.s3.<region>.amazonaws.com, retrying, and tries https:// only after that fails;
            // with 443 alone each upload first waits for those connections to time out. The destination is
            // the region's S3 prefix list (what the gateway endpoint exposes), never 0.0.0.0/0.
            const app = one(resources, "aws:ec2/securityGroup:SecurityGroup", "network-app");
            const endpoint = one(resources, "aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3");
            const egress = byType(resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === app.id);
            const http = egress.filter((r) => (r.inputs.fromPort as number) <= 80 && 80 <= (r.inputs.toPort as number));
            assert.deepEqual(http.map((r) => [r.name, r.inputs.ipProtocol, r.inputs.prefixListId, r.inputs.cidrIpv4, r.inputs.cidrIpv6]), [["network-app-out-s3-http", "tcp", "pl-63a5400a", undefined, undefined]]);
            assert.deepEqual(http[0].propertyDependencies.prefixListId, [endpoint.urn]);
            assert.equal(endpoint.inputs.serviceName, "com.amazonaws.us-east-1.s3");
            // No rule anywhere in the stack sends port 80 to the whole internet.
            const anyEgress = byType(resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
            assert.ok(!anyEgress.some((r) => (r.inputs.fromPort as number) <= 80 && 80 <= (r.inputs.toPort as number) && (r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0")));
            // And the policy pack still passes the stack.
            assert.deepEqual((await runPolicies(run.graph)).filter((v) => v.level === "mandatory"), []);
        });

        it("parents every child to the component and exports the ids", () => {
            const kids = children();
            assert.ok(kids.length >= 18);
            const outputs = run.graph.outputs as Record<string, unknown>;
            assert.match(String(outputs.vpcId), /^vpc-[0-9a-f]{17}$/);
            for (const key of ["publicSubnetIds", "privateSubnetIds", "isolatedSubnetIds"]) {
                assert.equal((outputs[key] as string[]).length, expected.azs, key);
            }
            const provider = one(resources, "pulumi:providers:aws", "aws");
            assert.equal(network.provider ?? provider.urn, provider.urn);
        });
    });
}

describe("Network under preview (ids unknown)", () => {
    it("plans the S3 endpoint with computed route tables instead of failing", async () => {
        const { serialRun } = await import("./support/stacks");
        const { graph } = await serialRun({ stack: "dev", preview: true });
        const endpoint = one(graph.resources, "aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3");
        assert.ok(endpoint.inputs.routeTableIds === "<computed>" || Array.isArray(endpoint.inputs.routeTableIds));
    });
});
