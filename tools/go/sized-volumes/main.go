// sized-volumes: the local cluster's dynamic provisioner and volume resizer for the StorageClass
// "sized" (cluster/sized-volumes.sh starts it). Test infrastructure, not product: the hostPath pool
// of cluster.sh gives every claim a 10Gi directory, so a size is never enforced and a resize never
// grows anything; here each claim gets a loop-mounted XFS image of its requested size.
//
// Why XFS: growing a mounted ext4 (resize2fs online, the EXT4_IOC_RESIZE_FS ioctl) needs
// CAP_SYS_RESOURCE, which this machine kind's root does not have; xfs_growfs needs CAP_SYS_ADMIN,
// which it has. mkfs.xfs refuses filesystems under 300 MiB, so smaller claims are rounded up and
// the PV's capacity says so, as a cloud disk rounded up to its increment would.
//
// Provisioning is sigs.k8s.io/sig-storage-lib-external-provisioner's controller; expansion is a
// small loop of our own (no external-resizer is served by the Go proxy): a bound claim of a PV we
// made whose request exceeds its status.capacity has its image grown, the loop device re-read and
// the filesystem grown online, then the PV's capacity and the claim's status.capacity set, as
// external-resizer does for a volume that needs no node-side step.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

const (
	provisionerName = "stateful-apps.local/sized"
	provisionedBy   = "pv.kubernetes.io/provisioned-by"
	minBytes        = 300 << 20 // mkfs.xfs's smallest filesystem
	mib             = 1 << 20
)

// sizedVolumes runs on one node and provisions on that node's disk only (one instance per node).
type sizedVolumes struct {
	dir  string // images and mount points: DIR/PV.img mounted at DIR/PV
	node string // the node whose disk DIR is (a claim without a selected node gets this one)
}

// ShouldProvision (controller.Qualifier): only claims the scheduler placed on this node, or none.
func (s *sizedVolumes) ShouldProvision(_ context.Context, pvc *v1.PersistentVolumeClaim) bool {
	selected := pvc.Annotations["volume.kubernetes.io/selected-node"]
	return selected == "" || selected == s.node
}

// bytesFor: the size a claim gets, at least minBytes, in whole MiB.
func bytesFor(q resource.Quantity) int64 {
	b := q.Value()
	if b < minBytes {
		b = minBytes
	}
	return (b + mib - 1) / mib * mib
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (s *sizedVolumes) Provision(_ context.Context, o controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	req, ok := o.PVC.Spec.Resources.Requests[v1.ResourceStorage]
	if !ok {
		return nil, controller.ProvisioningFinished, errors.New("the claim requests no storage size")
	}
	size := bytesFor(req)
	mnt := filepath.Join(s.dir, o.PVName)
	img := mnt + ".img"
	if err := create(img, mnt, size); err != nil {
		_ = remove(img, mnt)
		return nil, controller.ProvisioningFinished, err
	}
	node := o.SelectedNodeName
	if node == "" {
		node = s.node
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if o.StorageClass.ReclaimPolicy != nil {
		reclaim = *o.StorageClass.ReclaimPolicy
	}
	klog.Infof("provisioned %s for %s/%s: %d MiB XFS image %s on node %s", o.PVName, o.PVC.Namespace, o.PVC.Name, size/mib, img, node)
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        o.PVName,
			Annotations: map[string]string{provisionedBy: provisionerName},
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "stateful-apps-e2e"},
		},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   o.PVC.Spec.AccessModes,
			VolumeMode:                    o.PVC.Spec.VolumeMode,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: *resource.NewQuantity(size, resource.BinarySI)},
			StorageClassName:              o.StorageClass.Name,
			// A local volume: the data is on one node's disk, so the pod is bound to that node.
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: mnt}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: v1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}, controller.ProvisioningFinished, nil
}

func create(img, mnt string, size int64) error {
	f, err := os.OpenFile(img, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size) // sparse: the machine's disk holds only what is written
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := run("mkfs.xfs", "-q", img); err != nil {
		return err
	}
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return err
	}
	if err := run("mount", "-o", "loop", img, mnt); err != nil {
		return err
	}
	// Writable by the pods' non-root UID, as local-path-provisioner makes its directories
	// (a local volume is not chowned to the pod's fsGroup by every kubelet path).
	return os.Chmod(mnt, 0o777)
}

// remove: unmount (the loop device is freed with it: mount -o loop sets autoclear), then delete.
func remove(img, mnt string) error {
	if mounted(mnt) {
		if err := run("umount", mnt); err != nil {
			return err
		}
	}
	if err := os.Remove(mnt); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Remove(img); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func mounted(path string) bool {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == path {
			return true
		}
	}
	return false
}

func (s *sizedVolumes) ours(pv *v1.PersistentVolume) (string, bool) {
	if pv.Annotations[provisionedBy] != provisionerName || pv.Spec.Local == nil {
		return "", false
	}
	p := pv.Spec.Local.Path
	return p, filepath.Dir(p) == s.dir
}

func (s *sizedVolumes) Delete(_ context.Context, pv *v1.PersistentVolume) error {
	mnt, ok := s.ours(pv)
	if !ok {
		return &controller.IgnoredError{Reason: "not a volume of " + s.dir}
	}
	klog.Infof("deleting %s (%s)", pv.Name, mnt)
	return remove(mnt+".img", mnt)
}

// grow: the image first, then the loop device's idea of it, then the mounted filesystem.
func grow(mnt string, size int64) error {
	img := mnt + ".img"
	if err := os.Truncate(img, size); err != nil {
		return err
	}
	out, err := exec.Command("losetup", "-j", img, "-O", "NAME", "-n").Output()
	dev := strings.TrimSpace(string(out))
	if err != nil || dev == "" || strings.Contains(dev, "\n") {
		return fmt.Errorf("no single loop device for %s (%q, %v)", img, dev, err)
	}
	if err := run("losetup", "-c", dev); err != nil {
		return err
	}
	return run("xfs_growfs", "-d", mnt)
}

func (s *sizedVolumes) resizeOnce(ctx context.Context, c kubernetes.Interface) {
	claims, err := c.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		klog.Warningf("listing claims: %v", err)
		return
	}
	for i := range claims.Items {
		pvc := &claims.Items[i]
		want, have := pvc.Spec.Resources.Requests[v1.ResourceStorage], pvc.Status.Capacity[v1.ResourceStorage]
		if pvc.Status.Phase != v1.ClaimBound || pvc.Spec.VolumeName == "" || want.Cmp(have) <= 0 {
			continue
		}
		pv, err := c.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			continue
		}
		mnt, ok := s.ours(pv)
		if !ok {
			continue
		}
		size := bytesFor(want)
		if err := s.resize(ctx, c, pvc, pv, mnt, size); err != nil {
			klog.Errorf("resizing %s/%s to %d MiB: %v", pvc.Namespace, pvc.Name, size/mib, err)
			continue
		}
		klog.Infof("resized %s/%s (%s) to %d MiB online", pvc.Namespace, pvc.Name, pv.Name, size/mib)
	}
}

func (s *sizedVolumes) resize(ctx context.Context, c kubernetes.Interface, pvc *v1.PersistentVolumeClaim, pv *v1.PersistentVolume, mnt string, size int64) error {
	capacity := *resource.NewQuantity(size, resource.BinarySI)
	if pvCap := pv.Spec.Capacity[v1.ResourceStorage]; pvCap.Cmp(capacity) < 0 {
		if err := grow(mnt, size); err != nil {
			return err
		}
		pv.Spec.Capacity[v1.ResourceStorage] = capacity
		if _, err := c.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	if pvc.Status.Capacity == nil {
		pvc.Status.Capacity = v1.ResourceList{}
	}
	pvc.Status.Capacity[v1.ResourceStorage] = capacity
	pvc.Status.AllocatedResources = v1.ResourceList{v1.ResourceStorage: pvc.Spec.Resources.Requests[v1.ResourceStorage]}
	pvc.Status.AllocatedResourceStatuses = nil
	pvc.Status.Conditions = nil
	_, err := c.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, pvc, metav1.UpdateOptions{})
	return err
}

func main() {
	klog.InitFlags(nil)
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	dir := flag.String("dir", "", "directory for the volume images and their mount points")
	node := flag.String("node", "", "node name for claims without a selected node")
	flag.Parse()
	if *kubeconfig == "" || *dir == "" || *node == "" {
		klog.Exit("--kubeconfig, --dir and --node are required")
	}
	abs, err := filepath.Abs(*dir)
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		klog.Exit(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Exit(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s := &sizedVolumes{dir: abs, node: *node}
	go func() {
		for ctx.Err() == nil {
			s.resizeOnce(ctx, client)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	controller.NewProvisionController(ctx, client, provisionerName, s,
		controller.LeaderElection(false),
		controller.FailedProvisionThreshold(3),
	).Run(ctx)
}
