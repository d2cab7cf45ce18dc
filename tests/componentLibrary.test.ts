/**
 * components/ is a library another Pulumi program can reuse: it knows nothing of this project's
 * stack files (config/) or its CLIs (tools/), and components/index.ts is its front door,
 * exporting every component and its Args.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { PROJECT_DIR } from "../tools/offline";
import { tempDir } from "./support/tmp";

const COMPONENTS_DIR = path.join(PROJECT_DIR, "components");

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) return sourceFiles(full);
        return e.name.endsWith(".ts") ? [full] : [];
    });
}

/** Every module a file imports (static, type-only, re-exports, dynamic import and require). */
function importsOf(file: string): string[] {
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    return info.importedFiles.map((f) => f.fileName);
}

/** Imports from components/ that leave components/ (relative paths resolved), as `file -> target`. */
function outwardImports(): string[] {
    const out: string[] = [];
    for (const file of sourceFiles(COMPONENTS_DIR)) {
        for (const spec of importsOf(file)) {
            if (!spec.startsWith(".")) continue;
            const target = path.resolve(path.dirname(file), spec);
            if (!(target + path.sep).startsWith(COMPONENTS_DIR + path.sep)) {
                out.push(`${path.relative(PROJECT_DIR, file)} -> ${path.relative(PROJECT_DIR, target)}`);
            }
        }
    }
    return out.sort();
}

/**
 * A program of the project's own files only (and TypeScript's lib): resolving the npm packages
 * would read @pulumi/aws's 4,000 declaration files, 9 s of CPU for nothing the checks read. An
 * Args type that needed one is caught by `hiddenFromCheck` (test "every Args type is the project's own").
 */
function projectProgram(root: string): ts.Program {
    const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, noEmit: true, types: [] };
    const host = ts.createCompilerHost(options);
    host.resolveModuleNameLiterals = (literals, containingFile, _redirected, compilerOptions) =>
        literals.map((literal) => (literal.text.startsWith(".") ? ts.resolveModuleName(literal.text, containingFile, compilerOptions, host) : { resolvedModule: undefined }));
    return ts.createProgram([root], options, host);
}

/**
 * Whether a type is, or is built from, one the program could not resolve (it reads as `any`):
 * its fields would be invisible. Built from: extended (interfaces, classes), intersected or
 * united, or given as a type argument (`Partial<Base>`, `Omit<X, "a">`), at any depth.
 */
function hiddenFromCheck(checker: ts.TypeChecker, type: ts.Type, seen = new Set<ts.Type>()): boolean {
    if (seen.has(type)) return false;
    seen.add(type);
    if ((type.flags & ts.TypeFlags.Any) !== 0) return true;
    const hidden = (t: ts.Type) => hiddenFromCheck(checker, t, seen);
    if (type.isUnionOrIntersection() && type.types.some(hidden)) return true;
    if ((type.aliasTypeArguments ?? []).some(hidden)) return true;
    if ((type.flags & ts.TypeFlags.Object) !== 0 && ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) !== 0 && checker.getTypeArguments(type as ts.TypeReference).some(hidden)) return true;
    // What a declaration names in its heritage clauses, or in its body if it is an alias, at any depth (`Omit<X, "a">` names X).
    const named = (node: ts.Node): boolean =>
        ((ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) && hidden(checker.getTypeAtLocation(node))) || ts.forEachChild(node, named) === true;
    const declarations = [...(type.symbol?.declarations ?? []), ...(type.aliasSymbol?.declarations ?? [])];
    return declarations.some((d) => ((ts.isInterfaceDeclaration(d) || ts.isClassDeclaration(d)) && (d.heritageClauses ?? []).some(named)) || (ts.isTypeAliasDeclaration(d) && named(d.type)));
}

describe("components/ as a library", () => {
    it("imports nothing from config/, tools/ or anywhere outside components/ (npm packages and Node built-ins only)", () => {
        assert.deepEqual(outwardImports(), []);
    });

    it("the import check sees every kind of import (it would catch an outward one)", () => {
        const probe = ts.preProcessFile(
            'import a from "../config";\nimport type { B } from "../tools/x";\nexport { c } from "../config/y";\nconst d = require("../tools/z");\nconst e = import("../config/w");',
            true,
            true,
        );
        assert.deepEqual(
            probe.importedFiles.map((f) => f.fileName),
            ["../config", "../tools/x", "../config/y", "../tools/z", "../config/w"],
        );
    });

    describe("components/index.ts", () => {
        let exported: Set<string>;
        let components: { name: string; file: string }[];
        let checker: ts.TypeChecker;
        let exports: ts.Symbol[];
        let projectOnly: boolean;

        before(() => {
            const index = path.join(COMPONENTS_DIR, "index.ts");
            const program = projectProgram(index);
            projectOnly = program.getSourceFiles().every((f) => !f.fileName.includes("/node_modules/") || f.fileName.includes("/node_modules/typescript/lib/"));
            checker = program.getTypeChecker();
            const symbol = checker.getSymbolAtLocation(program.getSourceFile(index)!)!;
            exports = checker.getExportsOfModule(symbol);
            exported = new Set(exports.map((s) => s.name));
            // Every class of components/ that extends pulumi.ComponentResource is a component.
            components = sourceFiles(COMPONENTS_DIR).flatMap((file) =>
                [...fs.readFileSync(file, "utf8").matchAll(/^export class (\w+) extends pulumi\.ComponentResource\b/gm)].map((m) => ({ name: m[1], file: path.relative(PROJECT_DIR, file) })),
            );
        });

        it("finds the components (the scan is not empty)", () => {
            for (const name of ["Network", "PrivateBucket", "WebTier", "Database", "PublicZone", "Dns", "Backup", "AmiFactory", "Monitoring"]) {
                assert.ok(components.some((c) => c.name === name), `${name} not found under components/`);
            }
        });

        it("exports every component and its Args", () => {
            const missing = components.flatMap((c) => [c.name, `${c.name}Args`].filter((n) => !exported.has(n)).map((n) => `${n} (${c.file})`));
            assert.deepEqual(missing, []);
        });

        it("every Args type is the project's own: neither it nor a type it extends comes from an npm package (which the check's program leaves out)", () => {
            assert.ok(projectOnly, "the check's program read an npm package");
            const hidden = components
                .map((c) => exports.find((s) => s.name === `${c.name}Args`)!)
                .filter((symbol) => hiddenFromCheck(checker, checker.getDeclaredTypeOfSymbol(symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol)))
                .map((symbol) => symbol.name);
            assert.deepEqual(hidden, []);
            // The check itself, on a probe: Args that extend or intersect a package's type are caught, the project's own are not.
            const dir = tempDir("component-probe-");
            const probeFile = path.join(dir, "probe.ts");
            fs.writeFileSync(
                probeFile,
                [
                    'import type { X } from "some-package";',
                    "interface Own { a?: string }",
                    "interface OwnOnX extends X { d?: string }",
                    "export interface Extends extends X { b?: string }",
                    "export type Intersects = Own & X;",
                    'export type Omits = Omit<X, "a">;',
                    "export interface ExtendsPartial extends Partial<OwnOnX> { e?: string }",
                    "export type PartialOfOwnOnX = Partial<OwnOnX>;",
                    "export interface Fine extends Own { c?: string }",
                    "export interface FinePartial extends Partial<Own> { f?: string }",
                    "",
                ].join("\n"),
            );
            const probe = projectProgram(probeFile);
            const probeChecker = probe.getTypeChecker();
            const verdicts = probeChecker.getExportsOfModule(probeChecker.getSymbolAtLocation(probe.getSourceFile(probeFile)!)!).map((symbol) => [symbol.name, hiddenFromCheck(probeChecker, probeChecker.getDeclaredTypeOfSymbol(symbol))]);
            assert.deepEqual(verdicts, [["Extends", true], ["Intersects", true], ["Omits", true], ["ExtendsPartial", true], ["PartialOfOwnOnX", true], ["Fine", false], ["FinePartial", false]]);
        });

        it("every Args field is documented: optional ones with their @default, required ones say so", () => {
            const problems: string[] = [];
            let fields = 0;
            for (const c of components) {
                const exportedArgs = exports.find((s) => s.name === `${c.name}Args`)!;
                const type = checker.getDeclaredTypeOfSymbol(exportedArgs.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exportedArgs) : exportedArgs);
                for (const prop of checker.getPropertiesOfType(type)) {
                    fields++;
                    const decl = prop.declarations?.[0];
                    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
                    const doc = ts.displayPartsToString(prop.getDocumentationComment(checker));
                    const tags = prop.getJsDocTags(checker).map((t) => t.name);
                    const where = `${c.name}Args.${prop.name}${decl ? ` (${path.relative(PROJECT_DIR, decl.getSourceFile().fileName)})` : ""}`;
                    if (!doc.trim()) problems.push(`${where}: no doc comment`);
                    else if (optional && !tags.includes("default")) problems.push(`${where}: optional without @default`);
                    else if (!optional && !/\bRequired\b/.test(doc)) problems.push(`${where}: required but the doc does not say "Required"`);
                }
            }
            assert.ok(fields > 100, `only ${fields} Args fields seen`);
            assert.deepEqual(problems, []);
        });

        it("its exports load as values: each component is a class", () => {
            // eslint-disable-next-line @typescript-eslint/no-var-requires
            const library = require("../components") as Record<string, unknown>;
            for (const c of components) assert.equal(typeof library[c.name], "function", c.name);
        });
    });
});
