/** The names of the backup's associations (plain data: config/names.ts checks them before the program runs). */

/** The drill association's name (config/names.ts checks it against AWS's limits). */
export function drillAssociationName(stack: string): string {
    return `platform-${stack}-restore-drill`;
}

/** The backup association's name (config/names.ts checks it against AWS's limits). */
export function backupAssociationName(stack: string): string {
    return `platform-${stack}-backup`;
}
