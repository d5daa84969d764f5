// The README's config table restates no default by hand: each default it shows must be the one
// in charts/stateful-app/values.yaml (per app) or STACK_DEFAULTS (stack level).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { APP_KEYS, chartDefaults, STACK_DEFAULTS } from "../components/config";
import { PROJECT_DIR } from "./harness";

/** The rows of README's "Stack config" table: key → default column. */
function configTable(readme: string): Map<string, string> {
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

describe("README config table", () => {
    const rows = configTable(fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8"));
    const defaults = chartDefaults();

    it("has a row for every app setting", () => {
        for (const key of APP_KEYS) {
            assert.ok(rows.has(`apps.<app>.${key}`), `apps.<app>.${key} missing`);
        }
    });

    for (const key of APP_KEYS) {
        it(`apps.<app>.${key}: the default shown is values.yaml's`, () => {
            const cell = rows.get(`apps.<app>.${key}`)!;
            assert.deepStrictEqual(stated(cell), defaults[key]);
        });
    }

    for (const [key, value] of Object.entries(STACK_DEFAULTS)) {
        it(`${key}: the default shown is the program's`, () => {
            assert.strictEqual(stated(rows.get(key)!), value);
        });
    }

    it("a required setting is shown as required, with no default", () => {
        assert.match(rows.get("apps.<app>.image")!, /^\*\*required\*\*/);
        assert.strictEqual(defaults.image, "");
    });
});
