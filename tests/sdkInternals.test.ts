// The SDK internals components/sdkInternals.ts relies on (checked against @pulumi/pulumi 3.248.0):
// these fail when an SDK upgrade moves one, instead of the program silently misreading secrets or
// losing its pod-cleanup hook.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { hookRegistration, isConfigSecret, monitorLacksHookRpc } from "../components/sdkInternals";

describe("SDK internals (components/sdkInternals.ts)", () => {
    it("runtime/config isConfigSecret tells secret keys from plain ones", () => {
        pulumi.runtime.setAllConfig({ "internals:plain": "a", "internals:secret": "b" }, ["internals:secret"]);
        assert.strictEqual(isConfigSecret("internals:secret"), true);
        assert.strictEqual(isConfigSecret("internals:plain"), false);
    });

    it("a ResourceHook keeps its registration promise in __registered", async () => {
        const hook = new pulumi.ResourceHook("internals-probe", async () => undefined);
        const registration = hookRegistration(hook);
        assert.ok(registration instanceof Promise);
        await registration.catch(() => undefined); // registered or refused: either way it settles
    });

    it("Pulumi's mock monitor has no registerResourceHook (the program asks before creating its hook)", async () => {
        await pulumi.runtime.setMocks({ newResource: (args) => ({ id: args.name, state: args.inputs }), call: (args) => args.inputs });
        assert.strictEqual(monitorLacksHookRpc(), true);
        const monitor = pulumi.runtime.getMonitor() as unknown as { registerResourceHook?: unknown };
        monitor.registerResourceHook = () => undefined;
        assert.strictEqual(monitorLacksHookRpc(), false);
    });
});
