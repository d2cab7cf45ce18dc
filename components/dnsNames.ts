/** DNS names as Route 53 takes them (plain data: config/dns.ts checks a stack file with these before the program runs). */

/** One DNS label: letters, digits and '-', not at either end, at most 63 characters (RFC 1035; Route 53 Developer Guide, "DNS domain name format"). */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** True for one lower-case DNS label. */
export function isDnsLabel(label: string): boolean {
    return LABEL.test(label);
}

/** True for a lower-case DNS name of two or more valid labels, at most 253 characters. */
export function isDnsName(name: string): boolean {
    const labels = name.split(".");
    return name.length <= 253 && labels.length >= 2 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]);
}
