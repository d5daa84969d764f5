// Volumes that have their size (issue #16 §2, §3), both apps, raw mode, on the StorageClass
// "sized" of the local cluster (tools/go/sized-volumes: a loop-mounted XFS image per claim, grown
// online by the cluster's own resizer): the size is enforced, a resize grows the filesystem under
// the running pod, and a full or read-only volume is answered with an error, never with a visit
// that was not stored. A read-only volume is covered by the apps' own tests only (see README).
import * as assert from "assert";
import { execFileSync } from "child_process";
import {
    cleanupNamespace, clone, eventually, execIn, httpRequest, kubectlJson, loadShippedConfig, pvcs,
    readyPods, secs, Stack, visitsOnDisk,
} from "./harness";

const NS = "e2e-sized";
const APPS = ["python-app", "js-app"];
const SIZE = "300Mi"; // the smallest XFS filesystem mkfs.xfs makes
const GROWN = "600Mi";
const MIB = 1024 * 1024;
/** XFS's internal log (at least 64 MiB since xfsprogs 5.15) is not usable space: df shows the rest. */
const XFS_LOG = 64 * MIB;

const dfBytes = (pod: string) => {
    const line = execIn(NS, pod, ["df", "-k", "/data"]).trim().split("\n").pop()!.split(/\s+/);
    return { size: Number(line[1]) * 1024, avail: Number(line[3]) * 1024 };
};
const pod0 = (app: string) => `${app}-0`;
const podUrl = (app: string, port: number) => `http://${kubectlJson(["get", "pod", pod0(app), "-n", NS]).status.podIP}:${port}`;
const isReady = (app: string) => readyPods(NS, app).some((p) => p.metadata.name === pod0(app));
const restarts = (app: string) => kubectlJson(["get", "pod", pod0(app), "-n", NS]).status.containerStatuses[0].restartCount;
/** Where the claim's filesystem is mounted on this machine (the node's disk). */
const hostPath = (app: string) => kubectlJson(["get", "pv", pvcs(NS, app)[0].spec.volumeName]).spec.local.path as string;

function assertSize(app: string, capacity: string, bytes: number) {
    const claim = pvcs(NS, app)[0];
    assert.strictEqual(claim.spec.storageClassName, "sized", `${app}: claim of the sized class`);
    assert.strictEqual(claim.status.capacity.storage, capacity, `${app}: PVC status.capacity`);
    const { size } = dfBytes(pod0(app));
    // What the pod sees is the volume: its size minus the filesystem's log, not the machine's disk.
    assert.ok(size <= bytes - XFS_LOG && size > bytes - XFS_LOG - 16 * MIB,
        `${app}: df /data says ${size / MIB} MiB, expected ${(bytes - XFS_LOG) / MIB} MiB (a ${capacity} volume less XFS's log)`);
}

describe("volumes that have their size: StorageClass sized, both apps", function () {
    const config = loadShippedConfig("dev");
    config["stateful-apps:namespace"] = NS;
    config["stateful-apps:deployMethod"] = "raw";
    for (const app of APPS) {
        Object.assign(config["stateful-apps:apps"][app], { replicas: 1, storageClass: "sized", storageSize: SIZE });
    }
    const port = (app: string) => config["stateful-apps:apps"][app].port as number;
    let stack: Stack;
    const visit = (app: string) => httpRequest(`${podUrl(app, port(app))}/visits`, { method: "POST" });

    before(async () => {
        stack = new Stack("sized", config);
        stack.up();
        for (const app of APPS) {
            await eventually(`${app}-0 ready`, () => isReady(app));
        }
    });
    after(() => {
        const volumes = APPS.map((app) => { try { return hostPath(app); } catch { return undefined; } });
        stack?.destroy();
        stack?.remove();
        cleanupNamespace(NS);
        // Reclaim policy Delete: the provisioner removes each image once its PV is released.
        for (const dir of volumes.filter((v): v is string => !!v)) {
            execFileSync("bash", ["-c", `for i in $(seq 60); do [ ! -e '${dir}.img' ] && exit 0; sleep 1; done; echo '${dir}.img still there' >&2; exit 1`]);
        }
    });

    it("scenario 17: each claim gets a volume of its size: PVC status.capacity 300Mi, df /data inside the pod the same volume", () => {
        for (const app of APPS) {
            assertSize(app, SIZE, 300 * MIB);
            const pv = kubectlJson(["get", "pv", pvcs(NS, app)[0].spec.volumeName]);
            assert.deepStrictEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values,
                [kubectlJson(["get", "pod", pod0(app), "-n", NS]).spec.nodeName], `${app}: a local volume, bound to its pod's node`);
        }
    });

    it(`scenario 18: storageSize ${SIZE} → ${GROWN} grows the filesystem online: same pod (UID, no restart), df /data and PVC status.capacity say ${GROWN}, every visit kept`, async () => {
        const before: Record<string, { uid: string; visits: number }> = {};
        for (const app of APPS) {
            for (let i = 0; i < 3; i++) assert.strictEqual((await visit(app)).status, 200);
            before[app] = { uid: kubectlJson(["get", "pod", pod0(app), "-n", NS]).metadata.uid, visits: visitsOnDisk(NS, pod0(app)) };
        }
        const grown = clone(config);
        for (const app of APPS) grown["stateful-apps:apps"][app].storageSize = GROWN;
        stack.writeConfig(grown);
        const summary = stack.previewSummary("sized-resize-summary");
        for (const app of APPS) {
            assert.deepStrictEqual(summary[app].pvcs.resized, [{ name: `data-${app}-0`, from: SIZE, to: GROWN }], `${app}: the PR summary's resized line`);
        }
        const started = Date.now();
        stack.up("sized-resize-up");
        for (const app of APPS) {
            await eventually(`${app}: PVC status.capacity ${GROWN}`, () => pvcs(NS, app)[0].status.capacity?.storage === GROWN, 60000);
        }
        console.log(`      resize: pulumi up + online growth of both volumes in ${secs(started)}s`);
        for (const app of APPS) {
            assertSize(app, GROWN, 600 * MIB);
            const pod = kubectlJson(["get", "pod", pod0(app), "-n", NS]);
            assert.strictEqual(pod.metadata.uid, before[app].uid, `${app}: the same pod`);
            assert.strictEqual(restarts(app), 0, `${app}: not restarted`);
            assert.strictEqual(visitsOnDisk(NS, pod0(app)), before[app].visits, `${app}: every visit kept`);
        }
        config["stateful-apps:apps"] = grown["stateful-apps:apps"];
    });

    it("scenario 19: a full volume: visits answered 507 (never a 200 not stored), readiness fails, /healthz alive, the file intact; space freed → ready again, the count goes on", async () => {
        for (const app of APPS) {
            const pod = pod0(app);
            // Guard: fill only what is the sized volume (a mistaken path would fill the machine's disk).
            assert.ok(dfBytes(pod).size < 1024 * MIB, `${app}: /data is not the sized volume`);
            execIn(NS, pod, ["sh", "-c", "dd if=/dev/zero of=/data/fill bs=1M 2>/dev/null; dd if=/dev/zero of=/data/fill-small bs=4k 2>/dev/null; sync; true"]);
            assert.ok(dfBytes(pod).avail < 2 * MIB, `${app}: the volume is full (${dfBytes(pod).avail} bytes available)`);
            await eventually(`${app}: not ready on a full volume`, () => !isReady(app), 60000);

            // A visit may still be stored in the temp file the app prepared before the disk filled
            // (then it is answered 200 and is on disk); after that, every visit is refused.
            let stored = visitsOnDisk(NS, pod);
            const statuses: number[] = [];
            for (let i = 0; i < 5; i++) {
                const res = await visit(app);
                statuses.push(res.status);
                if (res.status === 200) {
                    stored = JSON.parse(res.body).visits;
                    assert.strictEqual(visitsOnDisk(NS, pod), stored, `${app}: a 200 answer is on disk`);
                } else {
                    assert.strictEqual(res.status, 507, `${app}: ${res.body}`);
                    assert.match(JSON.parse(res.body).error, /no space left/);
                }
            }
            // Not "the last ones are 507": space the app's own failed writes give back (a temp file
            // it could not fill, removed) may store one more visit, which is then answered 200.
            assert.ok(statuses.filter((st) => st === 507).length >= 3, `${app}: visits refused on a full volume (${statuses})`);
            assert.strictEqual(visitsOnDisk(NS, pod), stored, `${app}: the visits file holds the last stored count`);
            assert.strictEqual((await httpRequest(`${podUrl(app, port(app))}/healthz`)).status, 200, `${app}: /healthz alive`);
            assert.strictEqual(restarts(app), 0, `${app}: no restart on a full volume`);

            execIn(NS, pod, ["rm", "-f", "/data/fill", "/data/fill-small"]);
            const freed = Date.now();
            await eventually(`${app}: ready again once space is freed`, () => isReady(app), 60000);
            console.log(`      ${app}: ready ${secs(freed)}s after space was freed`);
            const next = await visit(app);
            assert.strictEqual(next.status, 200, next.body);
            assert.strictEqual(JSON.parse(next.body).visits, stored + 1, `${app}: the count continues from the last stored value`);
        }
    });
});
