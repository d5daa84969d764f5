// README.md and values.schema.json restate no default or description by hand: the per-app
// settings table and the schema's descriptions are what `npm run docs` writes from
// charts/stateful-app/values.yaml, and the stack-level table's defaults are STACK_DEFAULTS.
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import { DOCS, generatedDocs, VALUES } from "../tools/chartDocs";
import { STACK_DEFAULTS } from "../components/config";

/** The rows of README's stack-level table ("Stack config"): key → default column. */
function stackTable(readme: string): Map<string, string> {
    const section = readme.slice(readme.indexOf("## Stack config"));
    const rows = new Map<string, string>();
    for (const line of section.slice(section.indexOf("| key | default |")).split("\n").slice(2)) {
        if (!line.startsWith("|")) {
            break;
        }
        const [, key, def] = line.split("|").map((c) => c.trim());
        rows.set(key.replace(/`/g, ""), def);
    }
    return rows;
}

/** The default a cell states: its first code span, read as YAML. */
const stated = (cell: string) => {
    const code = /`([^`]*)`/.exec(cell);
    assert.ok(code, `no default in ${cell}`);
    return yaml.load(code![1]);
};

/** Fails naming the first line where a file differs from what `npm run docs` writes. */
function assertGenerated(file: string, generated: string) {
    const [now, want] = [fs.readFileSync(file, "utf8").split("\n"), generated.split("\n")];
    const line = Array.from({ length: Math.max(now.length, want.length) }, (_, i) => i).find((i) => now[i] !== want[i]);
    if (line !== undefined) {
        assert.fail(`${file}:${line + 1} is not what \`npm run docs\` writes from values.yaml (run it):\n  now:       ${now[line]}\n  generated: ${want[line]}`);
    }
}

describe("docs generated from values.yaml (npm run docs)", function () {
    this.timeout(20000);
    // In a hook: values.yaml without a @param line for a key fails these tests, not the whole run.
    let generated: typeof DOCS;
    before(() => {
        generated = generatedDocs();
    });

    it("README.md's Per-app settings are what npm run docs writes (else: npm run docs)", () => {
        assertGenerated(DOCS.readme, generated.readme);
    });

    it("values.schema.json's descriptions are what npm run docs writes (else: npm run docs)", () => {
        assertGenerated(DOCS.schema, generated.schema);
    });

    it("the per-app table is a Name | Description | Value table with a row per key of values.yaml", () => {
        const values = yaml.load(fs.readFileSync(VALUES, "utf8")) as Record<string, unknown>;
        const section = generated.readme.slice(generated.readme.indexOf("### Per-app settings"), generated.readme.indexOf("### Validation"));
        assert.match(section, /^\| Name +\| Description +\| Value +\|$/m);
        for (const key of Object.keys(values)) {
            assert.match(section, new RegExp(`^\\| \`${key}(\\.[^\`]+)?\` `, "m"), `${key} missing`);
        }
    });

    for (const [key, value] of Object.entries(STACK_DEFAULTS)) {
        it(`stack-level table: the default of ${key} shown is the program's`, () => {
            assert.strictEqual(stated(stackTable(fs.readFileSync(DOCS.readme, "utf8")).get(key)!), value);
        });
    }
});
