/**
 * Looking resources up in a planned graph: the one helper every test uses (instead of a copy
 * per file). `one` insists on exactly one match, so a test never asserts on the first of two
 * resources it did not expect.
 */
import type { Graph, GraphResource } from "../../tools/graph";

type From = Graph | { resources: GraphResource[] } | GraphResource[];

const list = (from: From): GraphResource[] => (Array.isArray(from) ? from : from.resources);

/** Every resource of the type. */
export function byType(from: From, type: string): GraphResource[] {
    return list(from).filter((r) => r.type === type);
}

/** The one resource of the type (and logical name, when given); throws naming what it found otherwise. */
export function one(from: From, type: string, name?: string): GraphResource {
    const found = list(from).filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) {
        throw new Error(`expected exactly one ${type}${name !== undefined ? ` named ${name}` : ""}, found ${found.length}`);
    }
    return found[0];
}

/** The direct children of a resource. */
export function childrenOf(from: From, parent: GraphResource): GraphResource[] {
    return list(from).filter((r) => r.parent === parent.urn);
}

/** Parses a JSON policy input (the graph keeps them as strings). */
export function json(value: unknown): any {
    return typeof value === "string" ? JSON.parse(value) : value;
}
