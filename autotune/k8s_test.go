package autotune

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// TestK8sJobs writes the Jobs for two node types and decodes the YAML
// back with the Kubernetes API types: one Job per node type, pinned to
// it, running modelc tune and printing the database after the marker.
func TestK8sJobs(t *testing.T) {
	jobs, err := K8sJobs(JobSpec{Image: "registry.example/modelc:1", Model: "zoo:mlp", NodeTypes: []string{"m7i.2xlarge", "c7g.xlarge"},
		Budget: 10 * time.Minute, Batches: []int{1, 32}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteK8sJobs(&buf, jobs); err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(buf.Bytes()), 4096)
	var got []batchv1.Job
	for {
		var j batchv1.Job
		err := dec.Decode(&j)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding:\n%s\n%v", buf.String(), err)
		}
		if j.Kind == "" {
			continue // the header comment's empty document
		}
		got = append(got, j)
	}
	if len(got) != 2 {
		t.Fatalf("decoded %d jobs from:\n%s", len(got), buf.String())
	}
	for i, want := range []string{"m7i.2xlarge", "c7g.xlarge"} {
		j := got[i]
		if !equality.Semantic.DeepEqual(*jobs[i], j) {
			t.Errorf("job %d does not decode to what was written:\n%+v\n%+v", i, *jobs[i], j)
		}
		if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Name != "modelc-tune-"+strings.ReplaceAll(want, ".", "-") {
			t.Errorf("job %d: %s %s %s", i, j.APIVersion, j.Kind, j.Name)
		}
		pod := j.Spec.Template.Spec
		if pod.NodeSelector[InstanceTypeLabel] != want || pod.RestartPolicy != corev1.RestartPolicyNever || *j.Spec.BackoffLimit != 0 {
			t.Errorf("job %d: node selector %v, restart %s", i, pod.NodeSelector, pod.RestartPolicy)
		}
		c := pod.Containers[0]
		script := strings.Join(c.Command, " ")
		for _, s := range []string{"modelc tune zoo:mlp --budget 10m0s --batch 1,32 --tune-db /tmp/modelc-tune.jsonl", "echo '" + DBMarker + "'", "cat /tmp/modelc-tune.jsonl"} {
			if !strings.Contains(script, s) {
				t.Errorf("job %d: command %q lacks %q", i, script, s)
			}
		}
		if c.Image != "registry.example/modelc:1" || c.Resources.Requests.Cpu().String() != "2" {
			t.Errorf("job %d: image %s, cpu %s", i, c.Image, c.Resources.Requests.Cpu())
		}
		if *j.Spec.ActiveDeadlineSeconds < 600 {
			t.Errorf("job %d: deadline %ds is shorter than the budget", i, *j.Spec.ActiveDeadlineSeconds)
		}
	}
	if !strings.Contains(buf.String(), "modelc tune merge --cache") {
		t.Error("the manifest does not say how to collect the results")
	}
	if _, err := K8sJobs(JobSpec{Model: "zoo:mlp"}); err == nil || !strings.Contains(err.Error(), "--image") {
		t.Errorf("no image: %v", err)
	}
}
