// Package isatest is a target for tests: a back end whose kernels are
// plain Go, one per family hook, written straight from the family
// contracts of package isa. It is what adding a target takes — this
// folder and one registration — and a test registers it in place of the
// real targets and runs the dispatch matrix on a generated package, to
// show that the seam holds: every family's call site dispatches to it at
// its tiers, and the package still matches its vectors.
//
// Its kernels count their calls by family and tier in the generated
// package (stubCalls), which a test file added to the package reads. It
// supports only the "" and "relu" activations, so call sites also take
// the path where a target lacks an epilogue and Go applies it.
package isatest

import (
	"fmt"
	goruntime "runtime"
	"strings"

	"github.com/modelc/modelc/codegen/gosrc"
	"github.com/modelc/modelc/codegen/isa"
)

// Target is the test target. It builds for the machine's own GOARCH
// without the purego tag, so its kernels run where the tests run.
type Target struct{}

// Its tiers follow the runtime's amd64 tiers where there are any (so
// GODEBUG turns them off as it does real ones), and are on everywhere
// else: "wide" at AVX-512, "narrow" at AVX2.
var (
	Wide   = isa.Tier{Name: "wide", Check: check("TierAVX512")}
	Narrow = isa.Tier{Name: "narrow", Check: check("TierAVX2")}
)

func check(tier string) string {
	if goruntime.GOARCH == "amd64" {
		return "rt.Supports(rt." + tier + ")"
	}
	return "rt.CPUTier() != rt.TierGeneric"
}

func (Target) Name() string       { return "stub" }
func (Target) GOARCH() string     { return goruntime.GOARCH }
func (Target) Constraint() string { return "!purego" }
func (Target) Tiers() []isa.Tier  { return []isa.Tier{Wide, Narrow} }

// Families, as the index of stubCalls counts them.
var families = []isa.Family{isa.Linear, isa.ConvBlock, isa.ConvRow, isa.Attention, isa.Elementwise, isa.LayerNorm, isa.Softmax, isa.Depthwise}

// kernels returns the spec's kernel at both tiers: the same Go body
// under two names, each counting its tier's calls.
func kernels(fam isa.Family, name, body string) []isa.Kernel {
	var ks []isa.Kernel
	for i, tier := range []isa.Tier{Wide, Narrow} {
		n := name + "_" + tier.Name
		src := fmt.Sprintf("func %s%s {\nstubCalls[%d][%d].Add(1)\n%s}\n", n, fam.Signature(), int(fam), i, body)
		ks = append(ks, isa.Kernel{Family: fam, Tier: tier, Name: n, Part: src})
	}
	return ks
}

// act returns the Go statement applying an activation to acc, or false
// for one the target lacks.
func act(a string) (string, bool) {
	switch a {
	case "":
		return "", true
	case "relu":
		return "acc = max(acc, 0)\n", true
	}
	return "", false
}

func (Target) Linear(s isa.LinearSpec) []isa.Kernel {
	a, ok := act(s.Epi.Act)
	if !ok {
		return nil
	}
	body := fmt.Sprintf("const N, K, PW = %d, %d, %d\n", s.N, s.K, s.PW) +
		"for q := lo; q < hi; q++ {\nfor j := q * PW; j < min((q+1)*PW, N); j++ {\nfor i := 0; i < m; i++ {\n" +
		"var acc float32\nfor k := 0; k < K; k++ {\nacc -= x[i*K+k] * wp[(q*K+k)*PW+j-q*PW]\n}\n" +
		ifs(s.Bias, "acc += bias[j]\n") + ifs(s.Epi.Resid, "acc += resid[i*N+j]\n") + a +
		"y[i*N+j] = acc\n}\n}\n}\n"
	return kernels(isa.Linear, fmt.Sprintf("stub_linear_n%d_k%d_pw%d%s", s.N, s.K, s.PW, suffix(s.Bias, s.Epi)), body)
}

func (Target) ConvBlock(s isa.ConvBlockSpec) []isa.Kernel {
	a, ok := act(s.Epi.Act)
	if !ok {
		return nil
	}
	sign := "-"
	if s.Pos {
		sign = ""
	}
	body := fmt.Sprintf("const K, PW = %d, %d\n", s.K, s.PW) +
		"for i := 0; i < m; i++ {\nfor j := 0; j < ncols; j++ {\nvar acc float32\nfor k := 0; k < K; k++ {\n" +
		"acc += x[i*lda+k] * " + sign + "wp[(j/PW*K+k)*PW+j%PW]\n}\n" +
		ifs(s.Epi.Resid, "acc += resid[i*ldc+j]\n") + a + "y[i*ldc+j] = acc\n}\n}\n"
	return kernels(isa.ConvBlock, fmt.Sprintf("stub_convblock_k%d_pw%d%s", s.K, s.PW, suffix(s.Pos, s.Epi)), body)
}

func (Target) ConvRow(s isa.ConvRowSpec) []isa.Kernel {
	a, ok := act(s.Epi.Act)
	if !ok {
		return nil
	}
	body := fmt.Sprintf("const C, O, KH, KW, SW, Wp, OW, PW = %d, %d, %d, %d, %d, %d, %d, %d\n", s.C, s.O, s.KH, s.KW, s.SW, s.Wp, s.OW, s.PW) +
		"const K = KH * KW * C\nfor ow := 0; ow < OW; ow++ {\nfor o := 0; o < O; o++ {\nvar acc float32\n" +
		"for kh := 0; kh < KH; kh++ {\nfor kw := 0; kw < KW; kw++ {\nfor c := 0; c < C; c++ {\n" +
		"k := (kh*KW+kw)*C + c\nacc -= x[(kh*Wp+ow*SW+kw)*C+c] * wp[(o/PW*K+k)*PW+o%PW]\n}\n}\n}\n" +
		ifs(s.Bias, "acc += bias[o]\n") + ifs(s.Epi.Resid, "acc += resid[ow*O+o]\n") + a + "y[ow*O+o] = acc\n}\n}\n"
	name := fmt.Sprintf("stub_conv%dx%d_c%d_o%d_s%d_wp%d_ow%d%s", s.KH, s.KW, s.C, s.O, s.SW, s.Wp, s.OW, suffix(s.Bias, s.Epi))
	return kernels(isa.ConvRow, name, body)
}

func (Target) Depthwise(s isa.DepthwiseSpec) []isa.Kernel {
	a, ok := act(s.Epi.Act)
	if !ok {
		return nil
	}
	body := fmt.Sprintf("const C, KH, KW, SW, DH, DW, Wp, OW = %d, %d, %d, %d, %d, %d, %d, %d\n", s.C, s.KH, s.KW, s.SW, s.DH, s.DW, s.Wp, s.OW) +
		"for ow := 0; ow < OW; ow++ {\nfor c := 0; c < C; c++ {\nvar acc float32\n" +
		"for kh := 0; kh < KH; kh++ {\nfor kw := 0; kw < KW; kw++ {\n" +
		"acc += x[(kh*DH*Wp+ow*SW+kw*DW)*C+c] * w[(kh*KW+kw)*C+c]\n}\n}\n" +
		ifs(s.Bias, "acc += bias[c]\n") + ifs(s.Epi.Resid, "acc += resid[ow*C+c]\n") + a + "y[ow*C+c] = acc\n}\n}\n"
	name := fmt.Sprintf("stub_dw%dx%d_c%d_s%d_d%dx%d_wp%d_ow%d%s", s.KH, s.KW, s.C, s.SW, s.DH, s.DW, s.Wp, s.OW, suffix(s.Bias, s.Epi))
	return kernels(isa.Depthwise, name, body)
}

func (Target) Attention(s isa.AttentionSpec) []isa.Kernel {
	causal := ""
	if s.Causal {
		causal = "if j > t {\nrow[j] = math.Inf(-1)\ncontinue\n}\n"
	}
	body := fmt.Sprintf("const T, S, D, Dv, H, Scale = %d, %d, %d, %d, %d, %s\n", s.T, s.S, s.D, s.Dv, s.H, fmt.Sprint(s.Scale)) +
		"const dh, dv = D / H, Dv / H\nvar row [S]float64\n" +
		"for bh := lo; bh < hi; bh++ {\nb, h := bh/H, bh%H\nfor t := 0; t < T; t++ {\nm := math.Inf(-1)\n" +
		"for j := 0; j < S; j++ {\n" + causal + "var dot float64\nfor d := 0; d < dh; d++ {\n" +
		"dot += float64(q[(b*T+t)*D+h*dh+d]) * float64(k[(b*S+j)*D+h*dh+d])\n}\nrow[j] = Scale * dot\nm = max(m, row[j])\n}\n" +
		"var sum float64\nfor j := range row {\nrow[j] = math.Exp(row[j] - m)\nsum += row[j]\n}\n" +
		"for e := 0; e < dv; e++ {\nvar acc float64\nfor j, p := range row {\nacc += p * float64(v[(b*S+j)*Dv+h*dv+e])\n}\n" +
		"o[(b*T+t)*Dv+h*dv+e] = float32(acc / sum)\n}\n}\n}\n_ = scratch\n"
	name := fmt.Sprintf("stub_attn_t%d_s%d_d%d_dv%d_h%d", s.T, s.S, s.D, s.Dv, s.H)
	if s.Causal {
		name += "_causal"
	}
	return kernels(isa.Attention, name, body)
}

func (Target) Elementwise(s isa.ElementwiseSpec) []isa.Kernel {
	expr := map[string]string{"relu": "max(a[i], 0)", "add": "a[i] + b[i]", "affine": "a[i]*s + t"}[s.Op]
	if expr == "" {
		return nil
	}
	body := "for i := range dst {\ndst[i] = " + expr + "\n}\n_, _ = s, t\nreturn len(dst)\n"
	return kernels(isa.Elementwise, "stub_ew_"+s.Op, body)
}

func (Target) LayerNorm(s isa.LayerNormSpec) []isa.Kernel {
	beta := ""
	if s.Beta {
		beta = " + float64(b[i])"
	}
	body := fmt.Sprintf("const I = %d\n", s.I) +
		"for r := lo; r < hi; r++ {\nrow := x[r*I : (r+1)*I]\nvar sum, ss float64\nfor _, v := range row {\nsum += float64(v)\n}\n" +
		"mean := sum / I\nfor _, v := range row {\nss += (float64(v) - mean) * (float64(v) - mean)\n}\n" +
		"inv := 1 / math.Sqrt(ss/I+float64(eps))\nfor i, v := range row {\n" +
		"dst[r*I+i] = float32((float64(v)-mean)*inv*float64(g[i])" + beta + ")\n}\n}\n"
	return kernels(isa.LayerNorm, fmt.Sprintf("stub_layernorm_i%d%s", s.I, suffix(s.Beta, isa.Epilogue{})), body)
}

func (Target) Softmax(s isa.SoftmaxSpec) []isa.Kernel {
	body := fmt.Sprintf("const L = %d\n", s.L) +
		"for r := lo; r < hi; r++ {\nrow := x[r*L : (r+1)*L]\nm := math.Inf(-1)\nfor _, v := range row {\n" +
		"if float64(v) > m || v != v {\nm = float64(v)\n}\n}\nvar sum float64\nfor _, v := range row {\nsum += math.Exp(float64(v) - m)\n}\n" +
		"for i, v := range row {\ndst[r*L+i] = float32(math.Exp(float64(v)-m) / sum)\n}\n}\n"
	return kernels(isa.Softmax, fmt.Sprintf("stub_softmax_l%d", s.L), body)
}

// Render writes kernels_stub.go: the flags, the counters and the kernels.
func (t Target) Render(f isa.File) (map[string][]byte, error) {
	var b strings.Builder
	b.WriteString(f.Header)
	fmt.Fprintf(&b, "//go:build %s\n\npackage %s\n\nimport (\n\"math\"\n\"sync/atomic\"\n\nrt %q\n)\n\n", isa.BuildConstraint(t), f.Package, f.Runtime)
	b.WriteString("var (\n")
	for _, tier := range t.Tiers() {
		fmt.Fprintf(&b, "%s = %s\n", isa.Flag(t, tier), tier.Check)
	}
	fmt.Fprintf(&b, ")\n\n// stubCalls counts the stub kernels' calls by family and tier (wide, narrow).\nvar stubCalls [%d][2]atomic.Int64\n\n", len(families))
	for _, k := range f.Kernels {
		b.WriteString(k.Part.(string) + "\n")
	}
	src, err := gosrc.Format([]byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("BUG: isatest: kernels_stub.go: %v\n%s", err, b.String())
	}
	return map[string][]byte{"kernels_stub.go": src}, nil
}

func ifs(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

func suffix(flag bool, e isa.Epilogue) string {
	s := ""
	if flag {
		s = "_f"
	}
	return s + e.Suffix()
}

// QGemm has no kernels: the pure-Go twin runs.
func (Target) QGemm(isa.QGemmSpec) []isa.Kernel { return nil }
