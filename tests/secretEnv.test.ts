// stateful-apps:secretEnv: secret env values reach the container only through the app's
// Secret (secretKeyRef), in both deploy methods, and never appear in plain text in any other
// resource's inputs or in an output. Secrets anywhere else are rejected before anything is declared.
import * as assert from "assert";
import { appsOf, clone, loadStackFile, runProgram, runProgramExpectingError, secretConfig, T } from "./harness";

// How the Pulumi SDK marks a secret value on the wire (sdk/nodejs/runtime/rpc.ts).
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

const DB_PASSWORD = "s3cr3t-db-password";
const API_KEY = "s3cr3t-api-key";
const JS_TOKEN = "s3cr3t-js-token";
const SECRET_VALUES = [DB_PASSWORD, API_KEY, JS_TOKEN];

/** The dev (raw) or staging (helm) stack with secretEnv for both apps, set as `--secret` does. */
function withSecretEnv(stack: "dev" | "staging") {
    const config = clone(loadStackFile(stack));
    config["stateful-apps:secretEnv"] = secretConfig({
        "python-app": { DB_PASSWORD, API_KEY },
        "js-app": { JS_TOKEN },
    });
    return config;
}

const containerEnv = (sts: any) => sts.spec.template.spec.containers[0].env;

describe("secretEnv", () => {
    for (const stack of ["dev", "staging"] as const) {
        describe(`${stack} (${stack === "dev" ? "raw" : "helm"})`, () => {
            it("each app's Secret holds its secret env values and the admin token, sent as a Pulumi secret", async () => {
                const run = await runProgram(withSecretEnv(stack), stack);
                const stringData = (app: string) => run.get(T.secret, app).inputs.stringData;
                for (const app of ["python-app", "js-app"]) {
                    assert.strictEqual(stringData(app)[SECRET_SIG], SECRET_SIG_VALUE, `${app}: stringData is a secret`);
                }
                assert.deepStrictEqual(stringData("python-app").value, {
                    API_KEY, DB_PASSWORD, ADMIN_TOKEN: "mock-admin-token-python-app-admin-token",
                });
                assert.deepStrictEqual(stringData("js-app").value, { JS_TOKEN, ADMIN_TOKEN: "mock-admin-token-js-app-admin-token" });
            });

            it("no secret value appears in any other resource's inputs or in any output", async () => {
                const run = await runProgram(withSecretEnv(stack), stack);
                for (const r of run.resources.filter((r) => r.type !== T.secret)) {
                    const text = JSON.stringify(r.inputs);
                    for (const value of SECRET_VALUES) {
                        assert.ok(!text.includes(value), `${value} in plain text in ${r.type} ${r.name}`);
                    }
                }
                const outputs = JSON.stringify(run.outputs);
                for (const value of SECRET_VALUES) {
                    assert.ok(!outputs.includes(value), `${value} in the stack outputs`);
                }
            });
        });
    }

    it("raw mode: the container reads each secret env var from the app's Secret, sorted, before ADMIN_TOKEN", async () => {
        const run = await runProgram(withSecretEnv("dev"), "dev");
        const env = containerEnv(run.get(T.statefulSet, "python-app").inputs);
        assert.deepStrictEqual(env.slice(-3), [
            { name: "API_KEY", valueFrom: { secretKeyRef: { name: "python-app", key: "API_KEY" } } },
            { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "python-app", key: "DB_PASSWORD" } } },
            { name: "ADMIN_TOKEN", valueFrom: { secretKeyRef: { name: "python-app", key: "ADMIN_TOKEN" } } },
        ]);
        const jsEnv = containerEnv(run.get(T.statefulSet, "js-app").inputs).map((e: any) => e.name);
        assert.ok(jsEnv.includes("JS_TOKEN") && !jsEnv.includes("DB_PASSWORD"), "each app gets only its own");
    });

    // A pod reads its Secret at start only: a changed value must change the pod template.
    for (const stack of ["dev", "staging"] as const) {
        it(`${stack}: a changed secret value changes the pod template's secret checksum (a rolling restart), an unchanged one keeps it`, async () => {
            const checksum = async (config: Record<string, unknown>) => {
                const run = await runProgram(config, stack);
                return stack === "dev"
                    ? run.get(T.statefulSet, "python-app").inputs.spec.template.metadata.annotations["stateful-apps.dev/secret-checksum"]
                    : run.get(T.release, "python-app").inputs.values.secretChecksum;
            };
            const before = await checksum(withSecretEnv(stack));
            assert.match(before, /^[0-9a-f]{64}$/);
            assert.strictEqual(await checksum(withSecretEnv(stack)), before, "same data, same checksum: no restart");
            const changed = withSecretEnv(stack);
            changed["stateful-apps:secretEnv"] = secretConfig({ "python-app": { DB_PASSWORD: "another-password", API_KEY }, "js-app": { JS_TOKEN } });
            assert.notStrictEqual(await checksum(changed), before);
            for (const value of SECRET_VALUES) {
                assert.ok(!before.includes(value), "a hash, not the value");
            }
        });
    }

    it("helm mode: the release values carry the names only (the chart references the Secret's keys)", async () => {
        const run = await runProgram(withSecretEnv("staging"), "staging");
        assert.deepStrictEqual(run.get(T.release, "python-app").inputs.values.secretEnvNames, ["API_KEY", "DB_PASSWORD"]);
        assert.deepStrictEqual(run.get(T.release, "js-app").inputs.values.secretEnvNames, ["JS_TOKEN"]);
    });

    it("an app without secretEnv gets none, and no secretEnv key at all changes nothing", async () => {
        const config = clone(loadStackFile("dev"));
        config["stateful-apps:secretEnv"] = secretConfig({ "js-app": { JS_TOKEN } });
        const run = await runProgram(config, "dev");
        const base = await runProgram(loadStackFile("dev"), "dev");
        assert.deepStrictEqual(run.get(T.statefulSet, "python-app").inputs, base.get(T.statefulSet, "python-app").inputs);
    });
});

describe("secrets outside secretEnv are rejected, nothing is declared, the value is never echoed", () => {
    const SECRET = "hunter2-very-secret";
    const cases: { what: string; change: (c: Record<string, any>) => void; key: string }[] = [
        {
            // What `pulumi config set --secret --path 'stateful-apps:apps.python-app.env.DB_PASSWORD' ...` does.
            what: "a secret env value inside apps (the whole apps key is secret)",
            change: (c) => {
                appsOf(c)["python-app"].env = { DB_PASSWORD: SECRET };
                c["stateful-apps:apps"] = secretConfig(c["stateful-apps:apps"]);
            },
            key: "stateful-apps:apps",
        },
        {
            what: "a secret image",
            change: (c) => {
                appsOf(c)["js-app"].image = `registry.example.com/${SECRET}:1`;
                c["stateful-apps:apps"] = secretConfig(c["stateful-apps:apps"]);
            },
            key: "stateful-apps:apps",
        },
        {
            what: "a secret namespace",
            change: (c) => { c["stateful-apps:namespace"] = secretConfig(SECRET); },
            key: "stateful-apps:namespace",
        },
        {
            what: "a secret deployMethod",
            change: (c) => { c["stateful-apps:deployMethod"] = secretConfig(SECRET); },
            key: "stateful-apps:deployMethod",
        },
        {
            what: "an unknown secret key",
            change: (c) => { c["stateful-apps:dbPassword"] = secretConfig(SECRET); },
            key: "stateful-apps:dbPassword",
        },
    ];
    for (const { what, change, key } of cases) {
        it(what, async () => {
            const config = clone(loadStackFile("dev"));
            change(config);
            const { error, resources } = await runProgramExpectingError(config);
            assert.ok(error.message.includes(`${key}: holds a secret value`), error.message);
            assert.ok(error.message.includes("Secret values belong in stateful-apps:secretEnv.<app>.<NAME>"), error.message);
            assert.ok(error.message.includes("pulumi config set --secret --path 'stateful-apps:secretEnv.<app>.<NAME>' <value>"), error.message);
            assert.ok(!error.message.includes(SECRET), `the secret is echoed:\n${error.message}`);
            assert.deepStrictEqual(resources.filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
        });
    }

    it("a secret apps key beside a valid secretEnv: one problem, not a misleading second one about secretEnv's apps", async () => {
        const config = clone(loadStackFile("dev"));
        appsOf(config)["js-app"].env = { TOKEN: SECRET };
        config["stateful-apps:apps"] = secretConfig(config["stateful-apps:apps"]);
        config["stateful-apps:secretEnv"] = secretConfig({ "python-app": { DB_PASSWORD: "x" } });
        const { error } = await runProgramExpectingError(config);
        assert.match(error.message, /\(1 problem\)/);
        assert.match(error.message, /stateful-apps:apps: holds a secret value/);
    });

    it("the same settings without --secret are fine (the rejection is about secrecy, not the values)", async () => {
        const config = clone(loadStackFile("dev"));
        appsOf(config)["python-app"].env = { DB_PASSWORD: "not-a-secret" };
        await runProgram(config);
    });
});

describe("secretEnv validation (values are never echoed)", () => {
    const SECRET = "do-not-print-me";
    const rules: { rule: string; secretEnv: unknown; plain?: boolean; messages: string[] }[] = [
        {
            rule: "secretEnv values stored in plain text in the stack file",
            secretEnv: { "python-app": { DB_PASSWORD: SECRET } },
            plain: true,
            messages: ["stateful-apps:secretEnv: is stored in plain text in the stack config; set each value with pulumi config set --secret --path"],
        },
        {
            rule: "an app that is not in apps",
            secretEnv: { "pyhton-app": { DB_PASSWORD: SECRET } },
            messages: ['stateful-apps:secretEnv.pyhton-app: no app "pyhton-app" in stateful-apps:apps; expected one of python-app, js-app'],
        },
        {
            rule: "a reserved name",
            secretEnv: { "python-app": { ADMIN_TOKEN: SECRET } },
            messages: ["stateful-apps:secretEnv.python-app.ADMIN_TOKEN: ADMIN_TOKEN is set by the program and cannot be overridden (reserved: PORT, DATA_DIR, POD_NAME, ADMIN_TOKEN)"],
        },
        {
            rule: "a name that is not an env var name",
            secretEnv: { "python-app": { "DB-PASSWORD": SECRET } },
            messages: ['stateful-apps:secretEnv.python-app.DB-PASSWORD: "DB-PASSWORD" is not an environment variable name; expected a name matching ^[A-Za-z_][A-Za-z0-9_]*$'],
        },
        {
            rule: "a name also set as a plain env var",
            secretEnv: { "python-app": { LOG_LEVEL: SECRET } },
            messages: ["stateful-apps:secretEnv.python-app.LOG_LEVEL: LOG_LEVEL is also set in stateful-apps:apps.python-app.env; set it in one of the two"],
        },
        {
            rule: "a value that is not a string, number or boolean",
            secretEnv: { "python-app": { DB: { password: SECRET } } },
            messages: ["stateful-apps:secretEnv.python-app.DB: expected a string, number or boolean (the value is not shown: it is secret)"],
        },
        {
            rule: "an app entry that is not a map",
            secretEnv: { "python-app": SECRET },
            messages: ["stateful-apps:secretEnv.python-app: expected a map of environment variable names to secret values"],
        },
        {
            rule: "secretEnv that is not a map",
            secretEnv: SECRET,
            messages: ["stateful-apps:secretEnv: expected a map from app name to a map of environment variable names to secret values"],
        },
    ];
    for (const { rule, secretEnv, plain, messages } of rules) {
        it(`${rule}; nothing is registered`, async () => {
            const config = clone(loadStackFile("dev"));
            config["stateful-apps:secretEnv"] = plain ? secretEnv : secretConfig(secretEnv);
            const { error, resources } = await runProgramExpectingError(config);
            for (const m of messages) {
                assert.ok(error.message.includes(m), `expected ${JSON.stringify(m)} in:\n${error.message}`);
            }
            assert.ok(!error.message.includes(SECRET), `the secret is echoed:\n${error.message}`);
            assert.deepStrictEqual(resources.filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
        });
    }

    it("an empty plain secretEnv is accepted (no value is in plain text)", async () => {
        const config = clone(loadStackFile("dev"));
        config["stateful-apps:secretEnv"] = { "python-app": {} };
        await runProgram(config);
    });
});
