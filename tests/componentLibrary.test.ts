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

        before(() => {
            const index = path.join(COMPONENTS_DIR, "index.ts");
            const program = ts.createProgram([index], { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, noEmit: true });
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
