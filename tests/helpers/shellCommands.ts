/**
 * The commands a bash script runs, read from its syntax tree (shfmt --to-json, the mvdan/sh
 * parser; Debian package `shfmt`), not from a regex: every simple command anywhere in the file
 * (pipelines, `$(...)`, `<(...)`, conditions, function bodies, redirection words, trap strings)
 * whose name is a literal. Bash keywords and builtins (as `compgen -b -k` of the bash running
 * the tests lists them) and the functions defined in the given files are left out, so what
 * remains is what must exist on the machine.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";

type Node = Record<string, unknown>;

export interface ScriptCommands {
    /** External commands (sorted, unique). */
    external: string[];
    /** Commands whose name is not a literal (`"$cmd" ...`): cannot be checked, so callers should fail on them. */
    dynamic: string[];
    /** Functions the files define. */
    functions: string[];
}

export function shfmtAvailable(): boolean {
    return spawnSync("shfmt", ["--version"]).status === 0;
}

function parse(text: string, what: string): Node {
    const r = spawnSync("shfmt", ["--to-json", "-ln", "bash"], { input: text, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`shfmt cannot parse ${what}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Node;
}

/** The word's text when it is made only of literal and quoted-literal parts, else undefined. */
function literal(word: Node | undefined): string | undefined {
    if (!word) return undefined;
    let out = "";
    for (const part of (word.Parts as Node[]) ?? []) {
        if (part.Type === "Lit" || part.Type === "SglQuoted") out += String(part.Value);
        else if (part.Type === "DblQuoted") {
            const inner = literal({ Parts: part.Parts } as Node);
            if (inner === undefined) return undefined;
            out += inner;
        } else return undefined;
    }
    return out;
}

let builtinCache: Set<string> | undefined;
function bashBuiltinsAndKeywords(): Set<string> {
    if (!builtinCache) {
        const r = spawnSync("bash", ["-c", "compgen -b; compgen -k"], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`bash compgen failed: ${r.stderr}`);
        builtinCache = new Set(r.stdout.split("\n").filter(Boolean));
    }
    return builtinCache;
}

/** Every command the files run (they are read as one program: a script and the library it sources). */
export function scriptCommands(files: string[]): ScriptCommands {
    const called = new Set<string>();
    const dynamic = new Set<string>();
    const functions = new Set<string>();

    const visitCall = (args: Node[]) => {
        let i = 0;
        for (;;) {
            const name = literal(args[i]);
            if (name === undefined) {
                if (args[i]) dynamic.add(JSON.stringify(args[i]).slice(0, 200));
                return;
            }
            if (name === "command" && literal(args[i + 1]) === "-v") return; // a presence check, not a call
            if (name === "exec" || name === "command" || name === "builtin") {
                if (args.length === i + 1) return; // `exec {fd}>file`: redirections only
                called.add(name);
                i++;
                continue;
            }
            called.add(name);
            if (name === "trap") {
                // The handler string is shell text the trap runs later: its commands count too.
                const handler = literal(args[i + 1]);
                if (handler !== undefined && handler !== "-" && handler !== "") walk(parse(handler, "a trap handler"));
            }
            return;
        }
    };

    const walk = (node: unknown): void => {
        if (Array.isArray(node)) {
            node.forEach(walk);
            return;
        }
        if (node === null || typeof node !== "object") return;
        const n = node as Node;
        if (n.Type === "FuncDecl") functions.add(String((n.Name as Node).Value));
        if (n.Type === "CallExpr" && Array.isArray(n.Args) && n.Args.length > 0) visitCall(n.Args as Node[]);
        for (const value of Object.values(n)) walk(value);
    };

    for (const file of files) walk(parse(fs.readFileSync(file, "utf8"), file));
    const skip = bashBuiltinsAndKeywords();
    const external = [...called].filter((c) => !skip.has(c) && !functions.has(c)).sort();
    return { external, dynamic: [...dynamic], functions: [...functions].sort() };
}

/** The elements of `readonly -a NAME=(...)` (or a plain `NAME=(...)`) in a script, literals only. */
export function arrayAssignment(file: string, name: string): string[] | undefined {
    let found: string[] | undefined;
    const walk = (node: unknown): void => {
        if (Array.isArray(node)) return node.forEach(walk);
        if (node === null || typeof node !== "object") return;
        const n = node as Node;
        const assignName = (n.Name as Node | undefined)?.Value;
        if (assignName === name && n.Array) {
            found = ((n.Array as Node).Elems as Node[]).map((e) => {
                const v = literal(e.Value as Node);
                if (v === undefined) throw new Error(`${file}: ${name} has a non-literal element`);
                return v;
            });
        }
        for (const value of Object.values(n)) walk(value);
    };
    walk(parse(fs.readFileSync(file, "utf8"), file));
    return found;
}
