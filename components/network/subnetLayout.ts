/**
 * Pure IPv4 helpers and the subnet layout of the Network component.
 *
 * The layout is computed here rather than left to awsx's allocator so that config
 * validation can say exactly which masks do not fit before anything is deployed, and so
 * that the plan shows every subnet's CIDR. The algorithm is awsx's "Auto" strategy: the
 * VPC is split into equal, power-of-two blocks, one per availability zone, and each
 * zone's block is filled with the tiers in order (public, private, isolated), each
 * subnet aligned to its own size.
 */

export interface Cidr {
    /** The network address as an unsigned 32-bit number. */
    base: number;
    /** Prefix length, 0..32. */
    prefix: number;
}

export type SubnetTier = "public" | "private" | "isolated";

/** Tiers in the order they are allocated within each availability zone. */
export const SUBNET_TIERS: readonly SubnetTier[] = ["public", "private", "isolated"];

export interface SubnetLayout {
    /** Prefix length of each availability zone's block. */
    azBlockPrefix: number;
    /** Per tier, one CIDR per availability zone (index = AZ index). */
    tiers: Record<SubnetTier, string[]>;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses `a.b.c.d/n`; returns an error message instead of throwing. */
export function parseCidr(text: string): Cidr | string {
    const match = IPV4_CIDR.exec(text.trim());
    if (!match) {
        return `"${text}" is not an IPv4 CIDR block such as 10.0.0.0/16`;
    }
    const octets = match.slice(1, 5).map(Number);
    const prefix = Number(match[5]);
    if (octets.some((o) => o > 255) || prefix > 32) {
        return `"${text}" has an octet above 255 or a prefix above /32`;
    }
    const base = octets.reduce((acc, o) => acc * 256 + o, 0);
    if (base % blockSize(prefix) !== 0) {
        return `"${text}" has host bits set; the network address for /${prefix} is ${formatCidr({ base: alignDown(base, prefix), prefix })}`;
    }
    return { base, prefix };
}

export function formatCidr(cidr: Cidr): string {
    const octets = [24, 16, 8, 0].map((shift) => Math.floor(cidr.base / 2 ** shift) % 256);
    return `${octets.join(".")}/${cidr.prefix}`;
}

/** Number of addresses in a block of the given prefix length. */
export function blockSize(prefix: number): number {
    return 2 ** (32 - prefix);
}

function alignDown(address: number, prefix: number): number {
    return address - (address % blockSize(prefix));
}

function alignUp(address: number, prefix: number): number {
    const size = blockSize(prefix);
    return Math.ceil(address / size) * size;
}

/** True when `inner` lies entirely within `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
    return inner.prefix >= outer.prefix && alignDown(inner.base, outer.prefix) === outer.base;
}

/** True when the two blocks share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    return cidrContains(a, b) || cidrContains(b, a);
}

/** Prefix of each AZ's block: the VPC divided into the smallest power of two >= azCount. */
export function azBlockPrefix(vpcPrefix: number, azCount: number): number {
    return vpcPrefix + Math.ceil(Math.log2(Math.max(1, azCount)));
}

/**
 * Lays the tiers out in every availability zone. Returns a list of problems (each a full
 * sentence) when the masks do not fit; never throws.
 */
export function layoutSubnets(
    vpcCidr: string,
    azCount: number,
    masks: Record<SubnetTier, number>,
): SubnetLayout | string[] {
    const vpc = parseCidr(vpcCidr);
    if (typeof vpc === "string") {
        return [vpc];
    }
    const azPrefix = azBlockPrefix(vpc.prefix, azCount);
    const problems: string[] = [];
    for (const tier of SUBNET_TIERS) {
        if (masks[tier] < azPrefix) {
            problems.push(
                `the ${tier} mask /${masks[tier]} is larger than each availability zone's share ` +
                    `of ${vpcCidr} (/${azPrefix} for ${azCount} zones)`,
            );
        }
    }
    if (problems.length > 0) {
        return problems;
    }
    const tiers: Record<SubnetTier, string[]> = { public: [], private: [], isolated: [] };
    for (let az = 0; az < azCount; az++) {
        const zoneStart = vpc.base + az * blockSize(azPrefix);
        const zoneEnd = zoneStart + blockSize(azPrefix);
        let cursor = zoneStart;
        for (const tier of SUBNET_TIERS) {
            const start = alignUp(cursor, masks[tier]);
            const end = start + blockSize(masks[tier]);
            if (end > zoneEnd) {
                const needed = SUBNET_TIERS.map((t) => `/${masks[t]}`).join(" + ");
                return [
                    `the subnets ${needed} (public, private, isolated) do not fit in each availability ` +
                        `zone's /${azPrefix} share of ${vpcCidr}: use smaller subnets (larger masks) ` +
                        `or a larger VPC`,
                ];
            }
            tiers[tier].push(formatCidr({ base: start, prefix: masks[tier] }));
            cursor = end;
        }
    }
    return { azBlockPrefix: azPrefix, tiers };
}
