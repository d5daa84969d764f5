// Issue 20 item 5: after `pulumi destroy` the namespace stays in the cluster (retainOnDelete) but
// leaves the state; the next `pulumi up` must adopt it on providers from v4.29 on, which refuse a
// create of an existing object unless upsertExistingObjects is set. Only the namespace upserts.
import * as assert from "assert";
import { clone, loadStackFile, runProgram, secretConfig, T } from "./harness";

const PROVIDER = "pulumi:providers:kubernetes";
// How the Pulumi SDK marks a secret value on the wire (sdk/nodejs/runtime/rpc.ts).
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

for (const deployMethod of ["raw", "helm"] as const) {
    describe(`the namespace's own provider (${deployMethod})`, () => {
        const config = (extra: Record<string, unknown> = {}) => ({ ...clone(loadStackFile("dev")), "stateful-apps:deployMethod": deployMethod, ...extra });

        it("the namespace, and only the namespace, uses a provider with upsertExistingObjects", async () => {
            const run = await runProgram(config());
            const providers = run.ofType(PROVIDER);
            assert.deepStrictEqual(providers.map((p) => p.name), ["namespace"]);
            // Provider inputs travel as strings (JSON), like provider config.
            assert.strictEqual(String(providers[0].inputs.upsertExistingObjects), "true");
            assert.ok(run.get(T.namespace, "stateful-apps-dev").opts.provider, "the namespace names its provider");
            for (const r of run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== T.namespace)) {
                assert.strictEqual(r.opts.provider, undefined, `${r.type} ${r.name} keeps the default provider`);
            }
        });

        it("without kubernetes:kubeconfig it reads $KUBECONFIG as the default provider does, never storing its path (another path must not replace it)", async () => {
            const before = process.env.KUBECONFIG;
            process.env.KUBECONFIG = "/home/deployer/.kube/config";
            try {
                const [provider] = (await runProgram(config())).ofType(PROVIDER);
                assert.strictEqual(provider.inputs.kubeconfig, "");
            } finally {
                if (before === undefined) delete process.env.KUBECONFIG;
                else process.env.KUBECONFIG = before;
            }
        });

        it("talks to the stack's cluster: kubernetes:kubeconfig (kept secret), context and cluster", async () => {
            const kubeconfig = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: very-secret}}]\n";
            const run = await runProgram(config({ "kubernetes:kubeconfig": secretConfig(kubeconfig), "kubernetes:context": "ctx", "kubernetes:cluster": "c1" }));
            const [provider] = run.ofType(PROVIDER);
            assert.strictEqual(provider.inputs.context, "ctx");
            assert.strictEqual(provider.inputs.cluster, "c1");
            // Sent to the engine wrapped as a secret value (the SDK's wire signature), so the
            // state and every diff show [secret].
            assert.deepStrictEqual(provider.inputs.kubeconfig, { [SECRET_SIG]: SECRET_SIG_VALUE, value: kubeconfig });
        });
    });
}
