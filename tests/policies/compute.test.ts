import * as assert from "assert";
import { adminPortsCovered } from "../../policies/rules/compute";
import { expectPass, expectViolation, graph, res, violationsOf } from "./helpers";

const INSTANCE = "aws:ec2/instance:Instance";
const LT = "aws:ec2/launchTemplate:LaunchTemplate";

describe("policies: compute (advisory by default)", () => {
    describe("ec2-imdsv2-required", () => {
        const rule = "ec2-imdsv2-required";

        it("passes httpTokens=required, a disabled endpoint, and instances launched from a template", async () => {
            const i = res(INSTANCE, "web", { metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" } });
            const off = res(INSTANCE, "no-imds", { metadataOptions: { httpEndpoint: "disabled" } });
            const fromLt = res(INSTANCE, "from-lt", { launchTemplate: { id: "lt-1" } });
            const lt = res(LT, "lt", { metadataOptions: { httpTokens: "required" } });
            await expectPass(graph(i, off, fromLt, lt), rule);
        });

        it("reports optional tokens and missing metadata options, as advisory", async () => {
            const i = res(INSTANCE, "v1", { metadataOptions: { httpTokens: "optional" } });
            const lt = res(LT, "lt-missing", {});
            await expectViolation(graph(i, lt), rule, i, { level: "advisory", match: /"optional"/ });
            await expectViolation(graph(i, lt), rule, lt, { level: "advisory", match: /not set/ });
        });

        it("can be raised to mandatory by the policy config", async () => {
            const i = res(INSTANCE, "v1", {});
            await expectViolation(graph(i), rule, i, { level: "mandatory", config: { [rule]: "mandatory" } });
        });
    });

    describe("ebs-encrypted", () => {
        const rule = "ebs-encrypted";

        it("passes encrypted volumes, block devices and launch template mappings (true or \"true\")", async () => {
            const v = res("aws:ebs/volume:Volume", "data", { availabilityZone: "eu-west-1a", size: 10, encrypted: true });
            const i = res(INSTANCE, "web", {
                rootBlockDevice: { encrypted: true, volumeSize: 20 },
                ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: "true" }],
            });
            const lt = res(LT, "lt", {
                blockDeviceMappings: [
                    { deviceName: "/dev/xvda", ebs: { encrypted: "true", volumeSize: 20 } },
                    { deviceName: "/dev/sdb", virtualName: "ephemeral0" },
                ],
            });
            await expectPass(graph(v, i, lt), rule);
        });

        it("reports unencrypted or undeclared encryption", async () => {
            const v = res("aws:ebs/volume:Volume", "plain-vol", { availabilityZone: "eu-west-1a", size: 10 });
            const i = res(INSTANCE, "plain-inst", {
                rootBlockDevice: { encrypted: true }, ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false }],
            });
            const lt = res(LT, "plain-lt", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false" } }] });
            const root = res(INSTANCE, "no-root", {});
            const g = graph(v, i, lt, root);
            await expectViolation(g, rule, v, { level: "advisory" });
            await expectViolation(g, rule, i, { match: /ebsBlockDevices\[\/dev\/sdf\] sets encrypted = false/ });
            await expectViolation(g, rule, lt, { match: /blockDeviceMappings\[\/dev\/xvda\]/ });
            await expectViolation(g, rule, root, { match: /no rootBlockDevice/ });
        });

        it("accepts undeclared encryption when the stack enables EBS encryption by default (explicit false still reported)", async () => {
            const byDefault = res("aws:ebs/encryptionByDefault:EncryptionByDefault", "ebs-default", { enabled: true });
            const v = res("aws:ebs/volume:Volume", "implicit", { availabilityZone: "eu-west-1a", size: 10 });
            const off = res("aws:ebs/volume:Volume", "explicit-off", { availabilityZone: "eu-west-1a", size: 10, encrypted: false });
            await expectViolation(graph(byDefault, v, off), rule, off);
            assert.strictEqual((await violationsOf(graph(byDefault, v, off), rule)).length, 1);
        });
    });

    describe("security-group-no-public-admin-ports", () => {
        const rule = "security-group-no-public-admin-ports";

        it("computes which admin ports a rule covers", () => {
            assert.deepStrictEqual(adminPortsCovered("tcp", 22, 22), [22]);
            assert.deepStrictEqual(adminPortsCovered("tcp", 0, 65535), [22, 3389]);
            assert.deepStrictEqual(adminPortsCovered("-1", 0, 0), [22, 3389]);
            assert.deepStrictEqual(adminPortsCovered("all", undefined, undefined), [22, 3389]);
            assert.deepStrictEqual(adminPortsCovered("tcp", 443, 443), []);
            assert.deepStrictEqual(adminPortsCovered("udp", 0, 65535), []);
            assert.deepStrictEqual(adminPortsCovered("tcp", 3000, 4000), [3389]);
        });

        it("passes HTTPS from anywhere and SSH from a private range", async () => {
            const sg = res("aws:ec2/securityGroup:SecurityGroup", "web", {
                ingress: [
                    { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
                    { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"] },
                ],
            });
            const rule1 = res("aws:ec2/securityGroupRule:SecurityGroupRule", "egress-all", {
                type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], securityGroupId: "sg-1",
            });
            const rule2 = res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "https", {
                ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0", securityGroupId: "sg-1",
            });
            await expectPass(graph(sg, rule1, rule2), rule);
        });

        it("reports SSH/RDP from the internet in inline rules, SecurityGroupRule and SecurityGroupIngressRule", async () => {
            const sg = res("aws:ec2/securityGroup:SecurityGroup", "open-ssh", {
                ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
            });
            const sgr = res("aws:ec2/securityGroupRule:SecurityGroupRule", "open-all", {
                type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"], securityGroupId: "sg-1",
            });
            const vpcRule = res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "open-rdp", {
                ipProtocol: "tcp", fromPort: 3000, toPort: 4000, cidrIpv4: "0.0.0.0/0", securityGroupId: "sg-1",
            });
            const g = graph(sg, sgr, vpcRule);
            await expectViolation(g, rule, sg, { level: "advisory", match: /SSH \(22\) to 0\.0\.0\.0\/0/ });
            await expectViolation(g, rule, sgr, { match: /SSH \(22\) and RDP \(3389\) to ::\/0/ });
            await expectViolation(g, rule, vpcRule, { match: /RDP \(3389\)/ });
        });
    });
});
