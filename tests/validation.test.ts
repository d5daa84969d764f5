// Bad config fails the program before any resource is declared, naming the full key, the bad
// value and what is allowed, with every problem reported at once.
import * as assert from "assert";
import { applyBadSetting, BAD_SETTINGS } from "./badSettings";
import { appsOf, clone, loadStackFile, runProgramExpectingError, SHIPPED_STACKS } from "./harness";


describe("config validation", () => {
    for (const row of BAD_SETTINGS) {
        const { rule, messages } = row;
        it(`${rule}; nothing is registered`, async () => {
            const config = clone(loadStackFile("dev"));
            applyBadSetting(config, row);
            const { error, resources } = await runProgramExpectingError(config);
            for (const m of messages) {
                assert.ok(error.message.includes(m), `expected ${JSON.stringify(m)} in:\n${error.message}`);
            }
            assert.match(error.message, /nothing was deployed/);
            assert.deepStrictEqual(resources.filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
        });
    }

    it("reports schema problems and cross-field rules of one app at once", async () => {
        const config = clone(loadStackFile("dev"));
        Object.assign(appsOf(config)["python-app"], {
            replicas: 1, updateStrategy: { type: "RollingUpdate", partition: 2 }, port: 0,
            resources: { requests: { memory: "1Gi" }, limits: { cpu: "lots", memory: "512Mi" } },
        });
        const { error } = await runProgramExpectingError(config);
        assert.match(error.message, /\(4 problems\)/);
        for (const key of ["port", "updateStrategy.partition", "resources.limits.cpu", "resources.requests.memory"]) {
            assert.ok(error.message.includes(`stateful-apps:apps.python-app.${key}:`), `${key} missing from:\n${error.message}`);
        }
    });

    it("reports every problem at once, across apps", async () => {
        const config = clone(loadStackFile("prod"));
        Object.assign(appsOf(config)["python-app"], { replicas: -2, port: "http" });
        Object.assign(appsOf(config)["js-app"], { storageSize: "big", podManagementPolicy: "Random" });
        const { error } = await runProgramExpectingError(config);
        for (const key of ["python-app.replicas", "python-app.port", "js-app.storageSize", "js-app.podManagementPolicy"]) {
            assert.ok(error.message.includes(`stateful-apps:apps.${key}:`), `${key} missing from:\n${error.message}`);
        }
        assert.match(error.message, /\(4 problems\)/);
    });

    for (const stack of SHIPPED_STACKS) {
        it(`the shipped stack ${stack} is valid (the negative tests above start from dev)`, async () => {
            // A passing program run would throw in runProgramExpectingError.
            await assert.rejects(runProgramExpectingError(clone(loadStackFile(stack))), /expected the program to fail/);
        });
    }
});
