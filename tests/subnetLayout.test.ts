import { strict as assert } from "assert";
import { azBlockPrefix, cidrContains, cidrsOverlap, formatCidr, layoutSubnets, parseCidr } from "../components/network/subnetLayout";

describe("subnetLayout", () => {
    it("parses and formats CIDRs", () => {
        assert.deepEqual(parseCidr("10.0.0.0/16"), { base: 10 * 2 ** 24, prefix: 16 });
        assert.equal(formatCidr({ base: 10 * 2 ** 24 + 128 * 256, prefix: 17 }), "10.0.128.0/17");
    });

    it("rejects malformed CIDRs, out-of-range octets and host bits with a message", () => {
        assert.match(parseCidr("10.0.0/16") as string, /not an IPv4 CIDR/);
        assert.match(parseCidr("10.0.0.256/16") as string, /octet above 255/);
        assert.match(parseCidr("10.0.0.0/33") as string, /prefix above/);
        assert.match(parseCidr("10.0.1.0/16") as string, /host bits set.*10\.0\.0\.0\/16/);
    });

    it("gives each zone an equal power-of-two share", () => {
        assert.equal(azBlockPrefix(16, 2), 17);
        assert.equal(azBlockPrefix(16, 3), 18);
        assert.equal(azBlockPrefix(16, 4), 18);
        assert.equal(azBlockPrefix(16, 1), 16);
    });

    it("lays out public, private and isolated subnets aligned inside each zone", () => {
        const layout = layoutSubnets("10.0.0.0/16", 3, { public: 24, private: 20, isolated: 24 });
        assert.ok(!Array.isArray(layout));
        assert.deepEqual(layout.tiers.public, ["10.0.0.0/24", "10.0.64.0/24", "10.0.128.0/24"]);
        assert.deepEqual(layout.tiers.private, ["10.0.16.0/20", "10.0.80.0/20", "10.0.144.0/20"]);
        assert.deepEqual(layout.tiers.isolated, ["10.0.32.0/24", "10.0.96.0/24", "10.0.160.0/24"]);
        const all = [...layout.tiers.public, ...layout.tiers.private, ...layout.tiers.isolated].map((c) => parseCidr(c) as { base: number; prefix: number });
        const vpc = parseCidr("10.0.0.0/16") as { base: number; prefix: number };
        all.forEach((a, i) => {
            assert.ok(cidrContains(vpc, a));
            all.forEach((b, j) => i !== j && assert.ok(!cidrsOverlap(a, b), `${formatCidr(a)} overlaps ${formatCidr(b)}`));
        });
    });

    it("reports masks larger than a zone's share", () => {
        const problems = layoutSubnets("10.0.0.0/20", 3, { public: 24, private: 21, isolated: 24 });
        assert.ok(Array.isArray(problems));
        assert.match(problems[0], /private mask \/21 is larger than each availability zone's share of 10\.0\.0\.0\/20 \(\/22 for 3 zones\)/);
    });

    it("reports subnets that together overflow a zone", () => {
        const problems = layoutSubnets("10.0.0.0/20", 2, { public: 22, private: 22, isolated: 22 });
        assert.ok(Array.isArray(problems));
        assert.match(problems[0], /do not fit in each availability zone's \/21 share/);
    });
});
