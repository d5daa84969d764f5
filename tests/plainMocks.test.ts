// tests/plain/ (index.ts under Pulumi's documented setMocks, nothing of this harness) runs in a
// process of its own, as a new user's test would: it must pass, and the program must leave no
// Pulumi promise pending (the SDK reports those only when the process exits).
import * as assert from "assert";
import { spawnSync } from "child_process";
import { PROJECT_DIR } from "../tools/project";

describe("index.ts under plain Pulumi mocks, in its own process", function () {
    this.timeout(180000);
    it("tests/plain passes in both modes and the program leaves no promise active", () => {
        const res = spawnSync("npx", ["mocha", "--no-config", "--require", "ts-node/register", "--extension", "ts", "--timeout", "60000", "tests/plain/*.test.ts"], {
            cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, PULUMI_DEBUG_PROMISE_LEAKS: "1" },
        });
        const output = `${res.stdout}${res.stderr}`;
        assert.strictEqual(res.status, 0, output);
        assert.match(output, /2 passing/);
        assert.doesNotMatch(output, /promises? (was|were) still active|Promise leak detected/, output);
    });
});
