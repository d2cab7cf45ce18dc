/**
 * The component library's front door: every component with its Args, and the helpers and
 * constants a caller may want (grant documents, subnet layout, SSM document types). Nothing
 * here knows about this project's stack files: a program composes these with literal Args
 * (see examples/) or maps its own configuration onto them (this project's config/).
 */
export * from "./network";
export * from "./network/subnetLayout";
export * from "./bucket";
export * from "./webTier";
export * from "./database";
export * from "./dns";
export * from "./backup";
export * from "./amiFactory";
export * from "./monitoring";
export * from "./iam";
export type { SsmDocumentContent, SsmParameter, SsmStep, SsmStepOutput } from "./ssmDocument";
