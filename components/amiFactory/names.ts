/** The names the AMI factory gives its documents and associations (plain data: config/names.ts checks them before the program runs). */

/** The names the factory gives its SSM documents and associations (config/names.ts checks them against AWS's limits). */
export function amiFactoryNames(stack: string) {
    return {
        documents: { bakePrepare: `${stack}-web-bake-prepare`, bake: `${stack}-web-bake-ami`, imaging: `${stack}-instance-imaging` },
        associations: { bake: `${stack}-ami-bake`, imaging: `${stack}-instance-imaging` },
    };
}
