// Which code may load which: the program runs from a workspace holding only PROJECT_FILES
// (cluster/workspace.ts), and the PR summary runs in CI without loading the Pulumi SDK.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_FILES } from "../cluster/workspace";
import { PROJECT_DIR } from "../tools/project";

/** The relative module paths a TypeScript file imports (`import ... from "./x"`, `require("./x")`). */
function relativeImports(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    return [...text.matchAll(/(?:from\s+|require\()\s*"(\.[^"]*)"/g)].map((m) => m[1]);
}

function tsFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []);
}

describe("imports", () => {
    it("the program (index.ts, components/) imports only files of its workspace", () => {
        const files = [path.join(PROJECT_DIR, "index.ts"), ...tsFiles(path.join(PROJECT_DIR, "components"))];
        const outside: string[] = [];
        for (const file of files) {
            for (const spec of relativeImports(file)) {
                const target = path.relative(PROJECT_DIR, path.resolve(path.dirname(file), spec));
                if (!PROJECT_FILES.includes(target.split(path.sep)[0]) && !PROJECT_FILES.includes(`${target}.ts`)) {
                    outside.push(`${path.relative(PROJECT_DIR, file)} imports ${spec}`);
                }
            }
        }
        assert.ok(files.length > 10, `${files.length} files`);
        assert.deepStrictEqual(outside, []);
    });

    it("the preview summary loads no Pulumi package", () => {
        const loaded = execFileSync(process.execPath, [
            "-r", "ts-node/register/transpile-only", "-e",
            `require("./ci/preview-summary"); console.log(JSON.stringify(Object.keys(require.cache)))`,
        ], { cwd: PROJECT_DIR, encoding: "utf8" });
        const modules: string[] = JSON.parse(loaded);
        assert.ok(modules.some((m) => m.endsWith(path.join("components", "identifiers.ts"))), "it loads the shared constants");
        assert.deepStrictEqual(modules.filter((m) => m.includes(`${path.sep}@pulumi${path.sep}`)), []);
    });
});
