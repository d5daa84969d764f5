// The original lab with real containers on the local node, in both deploy methods: visits
// load-balanced over the pods and counted per pod on its own volume, persistence across pod
// deletion and scale to 0, pod DNS through the headless Service; in raw mode also readiness
// gating traffic and the pods' security context, observed from inside the containers.
import * as assert from "assert";
import { POD_FACTS } from "../../components/podFacts";
import {
    cleanupNamespace, clone, countsOf, deletePodAndAwaitReplacement, eventually, execIn, httpRequest, kubectl, kubectlJson,
    loadShippedConfig, pods, pvcs, readyEndpointIps, readyPods, resolveInPod, Stack, visitsOnDisk, visitThroughService,
} from "./harness";

const APP = "python-app";
const REPLICAS = 3;
const VISITS = 60;

const podIp = (ns: string, name: string) => kubectlJson(["get", "pod", name, "-n", ns]).status.podIP as string;

for (const method of ["raw", "helm"]) {
    describe(`real pods, ${method} mode: the lab on the local node`, function () {
        const ns = `e2e-lab-${method}`;
        const config = loadShippedConfig("dev");
        config["stateful-apps:namespace"] = ns;
        config["stateful-apps:deployMethod"] = method;
        config["stateful-apps:apps"][APP].replicas = REPLICAS;
        let stack: Stack;
        let outputs: any;

        before(async () => {
            stack = new Stack(`lab-${method}`, config);
            stack.up();
            outputs = stack.outputs();
            await eventually(`${REPLICAS} ready ${APP} pods`, () => readyPods(ns, APP).length === REPLICAS);
        });
        after(() => {
            stack?.destroy();
            stack?.remove();
            cleanupNamespace(ns);
        });

        it(`scenario 1: ${VISITS} visits through the Service: every pod served some, and each pod's file holds exactly the visits it answered`, async () => {
            const before = countsOf(ns, APP);
            const answered = await visitThroughService(ns, APP, VISITS);
            assert.deepStrictEqual(Object.keys(answered).sort(), Object.keys(before).sort(), "every pod served some visits");
            const after = countsOf(ns, APP);
            for (const pod of Object.keys(after)) {
                assert.strictEqual(after[pod] - before[pod], answered[pod], `${pod}: its file counts the visits it answered`);
            }
            const total = Object.values(after).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0);
            assert.strictEqual(total, VISITS);
        });

        it("scenario 3: from inside python-app-0, every pod DNS name and the Service name resolve to the right IPs", () => {
            const from = `${APP}-0`;
            assert.strictEqual(resolveInPod(ns, from, `${APP}-1.${APP}-headless`), podIp(ns, `${APP}-1`));
            const names: string[] = outputs.apps[APP].podDnsNames;
            assert.strictEqual(names.length, REPLICAS);
            for (const fqdn of names) {
                assert.strictEqual(resolveInPod(ns, from, fqdn), podIp(ns, fqdn.split(".")[0]), fqdn);
            }
            const clusterIp = kubectlJson(["get", "service", APP, "-n", ns]).spec.clusterIP;
            assert.strictEqual(resolveInPod(ns, from, APP), clusterIp);
        });

        it("scenario 2: a deleted pod comes back with its name, PVC and count; scaling 3 → 0 → 3 keeps every count", async () => {
            await visitThroughService(ns, APP, 10);
            const counts = countsOf(ns, APP);
            const claims = pvcs(ns, APP).map((c) => c.metadata.uid);
            const back = await deletePodAndAwaitReplacement(ns, APP, `${APP}-1`);
            assert.strictEqual(back.spec.volumes.find((v: any) => v.name === "data").persistentVolumeClaim.claimName, `data-${APP}-1`);
            assert.strictEqual(visitsOnDisk(ns, `${APP}-1`), counts[`${APP}-1`]);

            const scaled = clone(config);
            scaled["stateful-apps:apps"][APP].replicas = 0;
            stack.writeConfig(scaled);
            stack.up(`lab-${method}-scale-0`);
            await eventually("no pods", () => pods(ns, APP).length === 0);
            stack.writeConfig(config);
            stack.up(`lab-${method}-scale-3`);
            await eventually(`${REPLICAS} ready pods`, () => readyPods(ns, APP).length === REPLICAS);
            assert.deepStrictEqual(pvcs(ns, APP).map((c) => c.metadata.uid), claims, "the same PVCs");
            assert.deepStrictEqual(countsOf(ns, APP), counts, "every pod's count survived");
        });

        if (method !== "raw") {
            return;
        }

        it("scenario 4: a corrupt visits file fails readiness, the pod leaves the Service, an unrelated up completes; POST /visits/reset with the admin token restores it", async () => {
            const sick = `${APP}-2`;
            const ip = podIp(ns, sick);
            execIn(ns, sick, ["sh", "-c", "printf 'not-a-number\\n' > /data/visits"]);
            await eventually(`${sick} not ready`, () => !readyPods(ns, APP).some((p) => p.metadata.name === sick));
            await eventually(`${sick} out of the Service's endpoints`, () => !readyEndpointIps(ns, APP).includes(ip));
            const answered = await visitThroughService(ns, APP, 20);
            assert.ok(!(sick in answered), "no visit went to the unready pod");
            assert.strictEqual(kubectlJson(["get", "pod", sick, "-n", ns]).status.containerStatuses[0].restartCount, 0,
                "liveness is unaffected: the pod is not restarted");

            // An unrelated change still deploys, and promptly: the unready pod is not its business.
            const changed = clone(config);
            changed["stateful-apps:apps"]["js-app"].env = { LOG_LEVEL: "info" };
            stack.writeConfig(changed);
            const started = Date.now();
            stack.up(`lab-${method}-unrelated-up`);
            assert.ok(Date.now() - started < 120000, "pulumi up of an unrelated change completed within 2 minutes");

            const token = outputs.apps[APP].adminToken;
            const denied = await httpRequest(`http://${ip}:${config["stateful-apps:apps"][APP].port}/visits/reset`, { method: "POST" });
            assert.strictEqual(denied.status, 401, "reset needs the admin token");
            const reset = await httpRequest(`http://${ip}:${config["stateful-apps:apps"][APP].port}/visits/reset`, {
                method: "POST", headers: { Authorization: `Bearer ${token}` },
            });
            assert.strictEqual(reset.status, 200, reset.body);
            await eventually(`${sick} ready again`, () => readyPods(ns, APP).some((p) => p.metadata.name === sick));
            await eventually(`${sick} back in the endpoints`, () => readyEndpointIps(ns, APP).includes(ip));
            assert.strictEqual(visitsOnDisk(ns, sick), 0);
            stack.writeConfig(config);
        });

        it("scenario 5: the containers run as the images' UID/GID (values.yaml pod.runAsId) on a read-only root; only /data and /tmp are writable; PSS restricted admitted them", () => {
            assert.strictEqual(kubectlJson(["get", "namespace", ns]).metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            for (const app of [APP, "js-app"]) {
                const pod = `${app}-0`;
                assert.strictEqual(execIn(ns, pod, ["id", "-u"]).trim(), String(POD_FACTS.runAsId), `${pod} uid`);
                assert.strictEqual(execIn(ns, pod, ["id", "-g"]).trim(), String(POD_FACTS.runAsId), `${pod} gid`);
                const outside = execIn(ns, pod, ["sh", "-c", "touch /app/probe 2>&1 || touch /probe 2>&1; echo rc=$?"], { allowFailure: true });
                assert.match(outside, /Read-only file system/, `${pod}: the root filesystem is read-only`);
                assert.match(outside, /rc=1/);
                for (const dir of ["/data", "/tmp"]) {
                    assert.strictEqual(execIn(ns, pod, ["sh", "-c", `touch ${dir}/probe && rm ${dir}/probe && echo ok`]).trim(), "ok", `${pod}: ${dir} writable`);
                }
            }
            assert.match(kubectl(["get", "pods", "-n", ns, "-o", "jsonpath={.items[*].status.phase}"]), /^(Running ?)+$/);
        });
    });
}
