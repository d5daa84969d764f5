// A deployed ordinal whose PVC is gone (components/lostClaims.ts): which ordinals count as lost,
// and what the program tells the user. The whole path (claim deleted, drift reported, pulumi up
// brings the replica back on a new empty claim) is e2e scenario 29.
import * as assert from "assert";
import { describeApiError } from "../components/kubeClient";
import { lostClaimWarning, lostOrdinals } from "../components/lostClaims";

const APP = { name: "python-app", volumeClaimName: "data", replicas: 3 };

describe("lost claims", () => {
    it("an ordinal the last update deployed, without its PVC, is lost; new ordinals and other apps' claims are not", () => {
        assert.deepStrictEqual(lostOrdinals(APP, 3, ["data-python-app-0", "data-python-app-1", "data-python-app-2"]), []);
        assert.deepStrictEqual(lostOrdinals(APP, 3, ["data-python-app-0", "data-python-app-2", "data-js-app-1"]), [1]);
        // Scaling 2 -> 3: ordinal 2 has no claim yet, and that is not a loss.
        assert.deepStrictEqual(lostOrdinals(APP, 2, ["data-python-app-0"]), [1]);
        // Scaling 3 -> 1: only the ordinal that stays is patched, so only it can be lost.
        assert.deepStrictEqual(lostOrdinals({ ...APP, replicas: 1 }, 3, []), [0]);
        assert.deepStrictEqual(lostOrdinals(APP, 0, []), []);
        // The claim template's name decides the PVC names (volumeClaimName).
        assert.deepStrictEqual(lostOrdinals({ ...APP, volumeClaimName: "python-pvc" }, 2, ["data-python-app-0", "data-python-app-1"]), [0, 1]);
    });

    it("the warning names the PVC, says the data is gone and what pulumi up does instead", () => {
        assert.strictEqual(lostClaimWarning(APP, 1),
            "python-app: PVC data-python-app-1 is gone from the cluster, and its data with it; pulumi up cannot restore the data: " +
            "the StatefulSet creates the claim again, empty, when pod python-app-1 starts, and its size is applied after that");
    });
});

describe("the program's own Kubernetes calls: a failure in a debug log", () => {
    it("never quotes the namespace (it may be a secret config value)", () => {
        const e = new Error("forbidden: cannot list persistentvolumeclaims in namespaces/team-secret-ns (team-secret-ns)\nBody: GET /api/v1/namespaces/team-secret-ns/persistentvolumeclaims");
        assert.strictEqual(describeApiError(e, "team-secret-ns"), "forbidden: cannot list persistentvolumeclaims in namespaces/<namespace> (<namespace>)");
    });
});
