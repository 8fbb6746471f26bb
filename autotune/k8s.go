package autotune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// JobSpec describes the Kubernetes Jobs that tune a model on a fleet:
// one Job per node type, each pinned to its nodes by the well-known
// label node.kubernetes.io/instance-type, running modelc tune in a
// container and printing the database it wrote to its log after
// DBMarker, for modelc tune merge --cache.
type JobSpec struct {
	Image     string   // holds modelc and the Go toolchain (the harnesses are built in the pod)
	Model     string   // MODEL as the container sees it (zoo:NAME needs no file)
	Passes    string   // --passes for modelc tune, if any
	NodeTypes []string // instance types; none: one Job, on any node
	Budget    time.Duration
	Batches   []int
}

// DBMarker is the log line after which a tuning pod prints its database.
const DBMarker = "--- modelc tune database ---"

// InstanceTypeLabel is the node label that names a node's instance type.
const InstanceTypeLabel = "node.kubernetes.io/instance-type"

// K8sJobs returns the Jobs of s.
func K8sJobs(s JobSpec) ([]*batchv1.Job, error) {
	if s.Image == "" {
		return nil, fmt.Errorf("--emit-k8s-job needs --image: a container image with modelc and the Go toolchain")
	}
	if s.Model == "" {
		return nil, fmt.Errorf("no model")
	}
	types := s.NodeTypes
	if len(types) == 0 {
		types = []string{""}
	}
	var bs []string
	for _, b := range s.Batches {
		bs = append(bs, fmt.Sprint(b))
	}
	if len(bs) == 0 {
		bs = []string{"1"}
	}
	// The database goes to the log only when tuning succeeded; the pod's
	// cache is its own, so the file is the node's and nothing else's.
	passes := ""
	if s.Passes != "" {
		passes = " --passes " + quote(s.Passes)
	}
	script := fmt.Sprintf("set -e\nmodelc tune %s%s --budget %s --batch %s --tune-db /tmp/modelc-tune.jsonl\necho %s\ncat /tmp/modelc-tune.jsonl\n",
		quote(s.Model), passes, s.Budget, strings.Join(bs, ","), quote(DBMarker))
	var jobs []*batchv1.Job
	for _, t := range types {
		name := "modelc-tune"
		if t != "" {
			name += "-" + dnsLabel(t)
		}
		labels := map[string]string{"app.kubernetes.io/name": "modelc-tune"}
		pod := corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name:    "tune",
				Image:   s.Image,
				Command: []string{"sh", "-c", script},
				Env: []corev1.EnvVar{
					{Name: "XDG_CACHE_HOME", Value: "/tmp/cache"},
					{Name: "HOME", Value: "/tmp"},
				},
				// Timing wants whole cores: ask for two, so that the
				// node's other pods take less of them.
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("2"),
					corev1.ResourceMemory: resource.MustParse("2Gi"),
				}},
			}},
		}
		if t != "" {
			pod.NodeSelector = map[string]string{InstanceTypeLabel: t}
			labels["modelc.dev/node-type"] = dnsLabel(t)
		}
		backoff := int32(0)
		deadline := int64((s.Budget + 30*time.Minute).Seconds())
		jobs = append(jobs, &batchv1.Job{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: batchv1.JobSpec{
				BackoffLimit:          &backoff,
				ActiveDeadlineSeconds: &deadline,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       pod,
				},
			},
		})
	}
	return jobs, nil
}

// dnsLabel makes s a valid Kubernetes name part: lower case, letters,
// digits and '-', at most 40 bytes.
func dnsLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 40 {
		out = strings.Trim(out[:40], "-")
	}
	return out
}

// WriteK8sJobs writes the Jobs as one YAML stream (documents separated
// by ---), with a header comment saying how to collect the results.
func WriteK8sJobs(w io.Writer, jobs []*batchv1.Job) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# modelc tune on each node type. Apply, wait, then collect each node's database:\n")
	fmt.Fprintf(&b, "#   kubectl apply -f THIS.yaml && kubectl wait --for=condition=complete --timeout=2h job -l app.kubernetes.io/name=modelc-tune\n")
	fmt.Fprintf(&b, "#   for j in $(kubectl get jobs -l app.kubernetes.io/name=modelc-tune -o name); do\n")
	fmt.Fprintf(&b, "#     kubectl logs $j | sed -n '/^%s$/,$p' | tail -n +2 > ${j#job/}.jsonl; done\n", DBMarker)
	fmt.Fprintf(&b, "#   modelc tune merge --cache modelc-tune-*.jsonl\n")
	for _, j := range jobs {
		js, err := json.Marshal(j)
		if err != nil {
			return err
		}
		// Drop the fields Kubernetes fills in (status, creationTimestamp).
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			return err
		}
		delete(m, "status")
		prune(m)
		js, _ = json.Marshal(m)
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			return err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// prune removes null values and empty maps, recursively.
func prune(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			prune(v)
			if len(v) == 0 {
				delete(m, k)
			}
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		}
	}
}
