/**
 * The shape of an SSM document's content (Command documents, schema 2.2; Automation runbooks,
 * schema 0.3) as the components build it and SSM receives it. The components own it; the
 * static checker in tools/ssmDocuments.ts imports it.
 * See "AWS Systems Manager document schema features and examples"
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-schemas-features.html).
 */

/** One parameter of a document (`parameters.<Name>`), as SSM's document schema spells it. */
export interface SsmParameter {
    type: string;
    description?: string;
    default?: unknown;
    allowedPattern?: string;
    allowedValues?: unknown[];
    [key: string]: unknown;
}

/** An Automation step output declaration (`outputs: [{ Name, Selector, Type }]`). */
export interface SsmStepOutput {
    Name: string;
    Selector?: string;
    Type?: string;
}

/** One step of `mainSteps`. */
export interface SsmStep {
    action: string;
    name: string;
    inputs?: Record<string, unknown>;
    outputs?: SsmStepOutput[];
    precondition?: unknown;
    [key: string]: unknown;
}

/** A document's content (the parsed JSON/YAML body). */
export interface SsmDocumentContent {
    schemaVersion: string;
    description?: string;
    assumeRole?: string;
    parameters?: Record<string, SsmParameter>;
    mainSteps: SsmStep[];
    outputs?: string[];
    [key: string]: unknown;
}
