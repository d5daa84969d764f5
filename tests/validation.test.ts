// Bad config fails the program before any resource is declared, naming the full key, the bad
// value and what is allowed, with every problem reported at once.
import * as assert from "assert";
import { appsOf, clone, loadStackFile, runProgramExpectingError, SHIPPED_STACKS } from "./harness";

type Config = Record<string, any>;
const setApp = (app: string, settings: Record<string, unknown>) => (c: Config) => Object.assign(appsOf(c)[app], settings);

interface Rule {
    rule: string;
    change: (config: Config) => void;
    /** Every one of these must appear in the error. */
    messages: string[];
}

const rules: Rule[] = [
    {
        rule: "replicas must be a number, not a string",
        change: setApp("python-app", { replicas: "3" }),
        messages: ['stateful-apps:apps.python-app.replicas: got "3"; expected an integer >= 0'],
    },
    {
        rule: "replicas must not be negative",
        change: setApp("python-app", { replicas: -1 }),
        messages: ["stateful-apps:apps.python-app.replicas: got -1; expected an integer >= 0"],
    },
    {
        rule: "replicas must be an integer",
        change: setApp("js-app", { replicas: 1.5 }),
        messages: ["stateful-apps:apps.js-app.replicas: got 1.5; expected an integer >= 0"],
    },
    {
        rule: "storageSize must be a Kubernetes quantity",
        change: setApp("python-app", { storageSize: "100MB" }),
        messages: ['stateful-apps:apps.python-app.storageSize: got "100MB"; expected a storage size as a positive Kubernetes quantity'],
    },
    {
        rule: "storageSize must be positive",
        change: setApp("python-app", { storageSize: "0" }),
        messages: ['stateful-apps:apps.python-app.storageSize: got "0"'],
    },
    {
        rule: "updateStrategy.type must be RollingUpdate or OnDelete",
        change: setApp("python-app", { updateStrategy: { type: "BlueGreen" } }),
        messages: ['stateful-apps:apps.python-app.updateStrategy.type: got "BlueGreen"; expected one of RollingUpdate, OnDelete'],
    },
    {
        rule: "podManagementPolicy must be OrderedReady or Parallel",
        change: setApp("js-app", { podManagementPolicy: "Sequential" }),
        messages: ['stateful-apps:apps.js-app.podManagementPolicy: got "Sequential"; expected one of OrderedReady, Parallel'],
    },
    {
        rule: "partition must not exceed replicas",
        change: setApp("python-app", { replicas: 3, updateStrategy: { type: "RollingUpdate", partition: 4 } }),
        messages: ["stateful-apps:apps.python-app.updateStrategy.partition: got 4; expected at most stateful-apps:apps.python-app.replicas (3)"],
    },
    {
        rule: "partition is not allowed with OnDelete",
        change: setApp("python-app", { updateStrategy: { type: "OnDelete", partition: 1 } }),
        messages: ["stateful-apps:apps.python-app.updateStrategy.partition: got 1; expected no partition with updateStrategy.type OnDelete"],
    },
    {
        rule: "maxUnavailable must be at least 1",
        change: setApp("python-app", { updateStrategy: { type: "RollingUpdate", maxUnavailable: 0 } }),
        messages: ["stateful-apps:apps.python-app.updateStrategy.maxUnavailable: got 0; expected an integer >= 1"],
    },
    {
        rule: "port must be 1-65535",
        change: setApp("python-app", { port: 70000 }),
        messages: ["stateful-apps:apps.python-app.port: got 70000; expected an integer from 1 to 65535"],
    },
    {
        rule: "port 0 is out of range too",
        change: setApp("js-app", { port: 0 }),
        messages: ["stateful-apps:apps.js-app.port: got 0; expected an integer from 1 to 65535"],
    },
    {
        rule: "app names must be DNS labels starting with a letter",
        change: (c) => { appsOf(c)["Python_App"] = { image: "x:1" }; },
        messages: ['stateful-apps:apps: app name "Python_App" is not allowed; expected a DNS label'],
    },
    {
        rule: "app names must leave room for the pods' revision label",
        change: (c) => { appsOf(c)["a".repeat(53)] = { image: "x:1" }; },
        messages: ["is not allowed; expected a DNS label of at most 52 characters"],
    },
    {
        rule: "namespace must be a DNS label",
        change: (c) => { c["stateful-apps:namespace"] = "Stateful_Apps"; },
        messages: ['stateful-apps:namespace: got "Stateful_Apps"; expected a DNS label'],
    },
    {
        rule: "unknown app keys (typos) are rejected, listing the allowed keys",
        change: setApp("python-app", { replica: 3 }),
        messages: ["stateful-apps:apps.python-app.replica: unknown key; allowed keys: image, imagePullPolicy, port, replicas,"],
    },
    {
        rule: "unknown nested keys are rejected",
        change: setApp("python-app", { updateStrategy: { type: "RollingUpdate", partion: 1 } }),
        messages: ["stateful-apps:apps.python-app.updateStrategy.partion: unknown key; allowed keys: type, partition, maxUnavailable"],
    },
    {
        rule: "unknown top-level keys are rejected",
        change: (c) => { c["stateful-apps:replicas"] = "3"; },
        messages: ["stateful-apps:replicas: unknown key; allowed keys: namespace, deployMethod, apps"],
    },
    {
        rule: "image is required",
        change: (c) => { delete appsOf(c)["js-app"].image; },
        messages: ["stateful-apps:apps.js-app.image: got nothing; expected a container image reference"],
    },
    {
        rule: "imagePullPolicy must be Always, IfNotPresent or Never",
        change: setApp("python-app", { imagePullPolicy: "never" }),
        messages: ['stateful-apps:apps.python-app.imagePullPolicy: got "never"; expected one of Always, IfNotPresent, Never'],
    },
    {
        rule: "deployMethod must be raw or helm",
        change: (c) => { c["stateful-apps:deployMethod"] = "kustomize"; },
        messages: ['stateful-apps:deployMethod: got "kustomize"; expected one of raw, helm'],
    },
    {
        rule: "pvcRetentionPolicy actions must be Retain or Delete",
        change: setApp("python-app", { pvcRetentionPolicy: { whenDeleted: "Keep" } }),
        messages: ['stateful-apps:apps.python-app.pvcRetentionPolicy.whenDeleted: got "Keep"; expected one of Retain, Delete'],
    },
    {
        rule: "accessModes must be Kubernetes access modes",
        change: setApp("python-app", { accessModes: ["RWO"] }),
        messages: ['stateful-apps:apps.python-app.accessModes[0]: got "RWO"; expected one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod'],
    },
    {
        rule: "resource quantities must be valid",
        change: setApp("python-app", { resources: { limits: { memory: "lots" } } }),
        messages: ['stateful-apps:apps.python-app.resources.limits.memory: got "lots"'],
    },
    {
        rule: "requests must not exceed limits",
        change: setApp("python-app", { resources: { requests: { memory: "1Gi" } } }),
        messages: ['stateful-apps:apps.python-app.resources.requests.memory: got "1Gi"; expected at most the limit 256Mi'],
    },
    {
        rule: "env may not override what the program sets",
        change: setApp("python-app", { env: { PORT: "1" } }),
        messages: ["stateful-apps:apps.python-app.env.PORT", "PORT is set by the program"],
    },
    {
        rule: "env values must be plain",
        change: setApp("python-app", { env: { NESTED: { a: 1 } } }),
        messages: ['stateful-apps:apps.python-app.env.NESTED: got {"a":1}; expected a plain string, number or boolean'],
    },
    {
        rule: "storageClass must be a StorageClass name (DNS subdomain)",
        change: setApp("python-app", { storageClass: "Fast_SSD" }),
        messages: ['stateful-apps:apps.python-app.storageClass: got "Fast_SSD"; expected a StorageClass name (DNS subdomain), or empty for the cluster default'],
    },
    {
        rule: "accessModes must not be empty",
        change: setApp("python-app", { accessModes: [] }),
        messages: ["stateful-apps:apps.python-app.accessModes: got []; expected a non-empty list of one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod"],
    },
    {
        rule: "env names must be environment variable names",
        change: setApp("python-app", { env: { "LOG-LEVEL": "debug" } }),
        messages: ['stateful-apps:apps.python-app.env.LOG-LEVEL: "LOG-LEVEL" is not an environment variable name; expected a name matching ^[A-Za-z_][A-Za-z0-9_]*$'],
    },
    {
        rule: "env names must not start with a digit",
        change: setApp("js-app", { env: { "1ST": "x" } }),
        messages: ['stateful-apps:apps.js-app.env.1ST: "1ST" is not an environment variable name'],
    },
    {
        rule: "image must not contain whitespace",
        change: setApp("python-app", { image: "registry.example.com/python-app :1.0" }),
        messages: ['stateful-apps:apps.python-app.image: got "registry.example.com/python-app :1.0"; expected a container image reference'],
    },
    {
        rule: "maxUnavailable is not allowed with OnDelete",
        change: setApp("python-app", { updateStrategy: { type: "OnDelete", maxUnavailable: 2 } }),
        messages: ["stateful-apps:apps.python-app.updateStrategy.maxUnavailable: got 2; expected no maxUnavailable with updateStrategy.type OnDelete"],
    },
    {
        // Helm would drop a null map and fall back to the chart's default limits, raw mode would
        // render none: the two deploy methods would differ.
        rule: "resources.limits: null is rejected (Helm would fall back to the default limits)",
        change: setApp("python-app", { resources: { limits: null } }),
        messages: ["stateful-apps:apps.python-app.resources.limits: got null; expected a map with keys cpu, memory, ephemeral-storage"],
    },
    {
        rule: "a null partition is rejected, not read as 0",
        change: setApp("python-app", { updateStrategy: { type: "RollingUpdate", partition: null } }),
        messages: ["stateful-apps:apps.python-app.updateStrategy.partition: got null; expected an integer >= 0"],
    },
    {
        rule: "a null setting is rejected, not defaulted",
        change: setApp("python-app", { replicas: null }),
        messages: ["stateful-apps:apps.python-app.replicas: got null; expected an integer >= 0"],
    },
    {
        rule: "apps must be a map",
        change: (c) => { c["stateful-apps:apps"] = ["python-app"]; },
        messages: ['stateful-apps:apps: got ["python-app"]; expected a map from app name to its settings'],
    },
];

describe("config validation", () => {
    for (const { rule, change, messages } of rules) {
        it(`${rule}; nothing is registered`, async () => {
            const config = clone(loadStackFile("dev"));
            change(config);
            const { error, resources } = await runProgramExpectingError(config);
            for (const m of messages) {
                assert.ok(error.message.includes(m), `expected ${JSON.stringify(m)} in:\n${error.message}`);
            }
            assert.match(error.message, /nothing was deployed/);
            assert.deepStrictEqual(resources.filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
        });
    }

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
