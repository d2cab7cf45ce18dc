/** Which EC2 instance families run which CPU architecture (plain data: config/webTier.ts checks a stack file with it before the program runs). */

/** The CPU architectures the tier runs on (Amazon Linux 2023 publishes an image for each). */
export type Architecture = "arm64" | "x86_64";

/**
 * EC2 instance families per CPU architecture that the tier accepts: a launch with an image of the
 * other architecture fails. Graviton (arm64) families end in `g` (or `gd`/`gn`). EC2 User Guide,
 * "Amazon EC2 instance type naming conventions" (https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html).
 */
export const INSTANCE_FAMILIES: Record<Architecture, readonly string[]> = {
    arm64: ["t4g", "m6g", "m6gd", "m7g", "m7gd", "m8g", "c6g", "c6gd", "c6gn", "c7g", "c7gd", "c7gn", "c8g", "r6g", "r6gd", "r7g", "r7gd", "r8g"],
    x86_64: ["t3", "t3a", "m5", "m5a", "m6i", "m6a", "m7i", "m7a", "m7i-flex", "c5", "c6i", "c6a", "c7i", "c7a", "r5", "r6i", "r7i"],
};

/** Why the instance type cannot run the architecture's image, or undefined. */
export function instanceFamilyProblem(instanceType: string, architecture: Architecture): string | undefined {
    const family = instanceType.split(".")[0];
    if (INSTANCE_FAMILIES[architecture].includes(family)) return undefined;
    const other: Architecture = architecture === "arm64" ? "x86_64" : "arm64";
    const hint = INSTANCE_FAMILIES[other].includes(family) ? ` (${family} is an ${other} family: set architecture: ${other})` : "";
    return `family "${family}" is not a known ${architecture} family${hint}; allowed: ${INSTANCE_FAMILIES[architecture].join(", ")}`;
}
