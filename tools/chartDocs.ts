// `npm run docs`: what README.md and values.schema.json say about each app setting, written from
// the one place it is stated, charts/stateful-app/values.yaml (its values and `## @param` lines),
// by Bitnami's readme-generator-for-helm:
// - README.md's "Per-app settings" section, by the generator itself (charts/stateful-app/readme-generator.json
//   names the section); it also fails when a key of values.yaml has no @param line, or a @param no key;
// - the `description` of each top-level property of values.schema.json, from the generator's parse
//   of the same lines (its own --schema output would replace our schema, with its patterns, enums
//   and x-expected wording). A map's description lists its keys' @param lines.
// tests/docs.test.ts fails when either file differs from what this writes.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CHART_DIR, PROJECT_DIR } from "./project";

/** The one place each default and description is stated. */
export const VALUES = path.join(CHART_DIR, "values.yaml");
const CONFIG = path.join(CHART_DIR, "readme-generator.json");

/** The two generated files. */
export const DOCS = { readme: path.join(PROJECT_DIR, "README.md"), schema: path.join(CHART_DIR, "values.schema.json") };
type Docs = typeof DOCS;

interface Param { name: string; description: string; skip: boolean }
const generator = require("@bitnami/readme-generator-for-helm") as {
    runReadmeGenerator(options: { values: string; readme: string; config: string }): void;
};
const parser = require("@bitnami/readme-generator-for-helm/lib/parser") as {
    parseMetadataComments(values: string, config: unknown): { parameters: Param[] };
};

/** Runs the generator with its INFO lines held back; its ERROR lines go into the exception. */
function quietly(run: () => void) {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => lines.push(args.join(" "));
    try {
        run();
    } catch (e) {
        throw new Error([(e as Error).message, ...lines.filter((l) => l.startsWith("ERROR"))].join("\n"));
    } finally {
        console.log = log;
    }
}

/** The schema text with each top-level property's `description` from values.yaml's @param lines. */
export function describedSchema(schemaText: string): string {
    const schema = JSON.parse(schemaText);
    const params = parser.parseMetadataComments(VALUES, JSON.parse(fs.readFileSync(CONFIG, "utf8"))).parameters.filter((p) => !p.skip);
    for (const [key, node] of Object.entries<Record<string, unknown>>(schema.properties)) {
        const own = params.filter((p) => p.name === key || p.name.startsWith(`${key}.`));
        if (own.length === 0) {
            throw new Error(`values.yaml: no @param line for ${key}`);
        }
        const description = own.map((p) => (p.name === key ? p.description : `\`${p.name.slice(key.length + 1)}\`: ${p.description}`)).join(" ");
        const { description: _old, ...rest } = node;
        schema.properties[key] = { description, ...rest };
    }
    return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Rewrites the two files (by default the project's own) from values.yaml. */
export function writeDocs(files: Docs = DOCS) {
    quietly(() => generator.runReadmeGenerator({ values: VALUES, readme: files.readme, config: CONFIG }));
    fs.writeFileSync(files.schema, describedSchema(fs.readFileSync(files.schema, "utf8")));
}

/** What `npm run docs` would write now, generated into a temporary copy: the files are not touched. */
export function generatedDocs(): Docs {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chart-docs-"));
    try {
        const copies = { readme: path.join(dir, "README.md"), schema: path.join(dir, "values.schema.json") };
        fs.copyFileSync(DOCS.readme, copies.readme);
        fs.copyFileSync(DOCS.schema, copies.schema);
        writeDocs(copies);
        return { readme: fs.readFileSync(copies.readme, "utf8"), schema: fs.readFileSync(copies.schema, "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

if (require.main === module) {
    writeDocs();
    console.log(`wrote ${path.relative(PROJECT_DIR, DOCS.readme)} (Per-app settings) and ${path.relative(PROJECT_DIR, DOCS.schema)} (descriptions) from values.yaml`);
}
