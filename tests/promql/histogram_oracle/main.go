// Command histogram-oracle answers float-histogram questions with Prometheus's own code (v3.5.0, pinned in
// go.mod), for tests/promql/test_histogram_oracle.py. One JSON request per input line, one JSON answer per
// output line: {"op": ..., "a": histogram, "b": histogram, "x": [arguments as strings]}.
// Ops: add sub mul div compact detect_reset equals test_expression string buckets validate quantile
// fraction stddev stdvar. A panic of Prometheus's code is answered as {"err": "panic: ..."}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
)

// Floats travel as strings (strconv 'g' -1), so that NaN, ±Inf and -0 survive JSON.
type hist struct {
	Schema int32      `json:"schema"`
	ZT     string     `json:"zt"`
	ZC     string     `json:"zc"`
	Count  string     `json:"count"`
	Sum    string     `json:"sum"`
	PS     [][2]int64 `json:"ps"`
	NS     [][2]int64 `json:"ns"`
	PB     []string   `json:"pb"`
	NB     []string   `json:"nb"`
	CV     []string   `json:"cv"`
	Hint   uint8      `json:"hint"`
}

type request struct {
	Op string   `json:"op"`
	A  *hist    `json:"a"`
	B  *hist    `json:"b"`
	X  []string `json:"x"`
}

type answer struct {
	H     *hist    `json:"h,omitempty"`
	F     string   `json:"f,omitempty"`
	B     *bool    `json:"b,omitempty"`
	S     string   `json:"s,omitempty"`
	Err   string   `json:"err,omitempty"`
	Annos []string `json:"annos,omitempty"`
}

func pf(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return f
}

func ff(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func pfs(ss []string) []float64 {
	if ss == nil {
		return nil
	}
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = pf(s)
	}
	return out
}

func ffs(fs []float64) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = ff(f)
	}
	return out
}

func spans(in [][2]int64) []histogram.Span {
	if in == nil {
		return nil
	}
	out := make([]histogram.Span, len(in))
	for i, s := range in {
		out[i] = histogram.Span{Offset: int32(s[0]), Length: uint32(s[1])}
	}
	return out
}

func unspans(in []histogram.Span) [][2]int64 {
	out := make([][2]int64, len(in))
	for i, s := range in {
		out[i] = [2]int64{int64(s.Offset), int64(s.Length)}
	}
	return out
}

func toFH(h *hist) *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		CounterResetHint: histogram.CounterResetHint(h.Hint),
		Schema:           h.Schema,
		ZeroThreshold:    pf(h.ZT),
		ZeroCount:        pf(h.ZC),
		Count:            pf(h.Count),
		Sum:              pf(h.Sum),
		PositiveSpans:    spans(h.PS),
		NegativeSpans:    spans(h.NS),
		PositiveBuckets:  pfs(h.PB),
		NegativeBuckets:  pfs(h.NB),
		CustomValues:     pfs(h.CV),
	}
}

func fromFH(h *histogram.FloatHistogram) *hist {
	return &hist{
		Schema: h.Schema, ZT: ff(h.ZeroThreshold), ZC: ff(h.ZeroCount), Count: ff(h.Count), Sum: ff(h.Sum),
		PS: unspans(h.PositiveSpans), NS: unspans(h.NegativeSpans),
		PB: ffs(h.PositiveBuckets), NB: ffs(h.NegativeBuckets), CV: ffs(h.CustomValues),
		Hint: uint8(h.CounterResetHint),
	}
}

func annos(a map[string]error) []string {
	var out []string
	for _, e := range a {
		out = append(out, e.Error())
	}
	return out
}

func histFunc(name string, h *histogram.FloatHistogram) float64 {
	enh := &promql.EvalNodeHelper{}
	out, _ := promql.FunctionCalls[name]([]parser.Value{promql.Vector{{H: h}}}, nil, enh)
	return out[0].F
}

func handle(r request) (ans answer) {
	defer func() {
		if p := recover(); p != nil {
			ans = answer{Err: fmt.Sprintf("panic: %v", p)}
		}
	}()
	t := true
	f := false
	boolp := func(b bool) *bool {
		if b {
			return &t
		}
		return &f
	}
	switch r.Op {
	case "add", "sub":
		a := toFH(r.A)
		var res *histogram.FloatHistogram
		var err error
		if r.Op == "add" {
			res, err = a.Add(toFH(r.B))
		} else {
			res, err = a.Sub(toFH(r.B))
		}
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{H: fromFH(res)}
	case "mul":
		return answer{H: fromFH(toFH(r.A).Mul(pf(r.X[0])))}
	case "div":
		return answer{H: fromFH(toFH(r.A).Div(pf(r.X[0])))}
	case "compact":
		n, _ := strconv.Atoi(r.X[0])
		return answer{H: fromFH(toFH(r.A).Compact(n))}
	case "detect_reset":
		return answer{B: boolp(toFH(r.A).DetectReset(toFH(r.B)))}
	case "equals":
		return answer{B: boolp(toFH(r.A).Equals(toFH(r.B)))}
	case "test_expression":
		return answer{S: toFH(r.A).TestExpression()}
	case "validate":
		if err := toFH(r.A).Validate(); err != nil {
			return answer{Err: err.Error()}
		}
		return answer{S: "ok"}
	case "string":
		return answer{S: toFH(r.A).String()}
	case "buckets":
		var out []string
		for it := toFH(r.A).AllBucketIterator(); it.Next(); {
			b := it.At()
			out = append(out, b.String())
		}
		return answer{Annos: out}
	case "quantile":
		v, a := promql.HistogramQuantile(pf(r.X[0]), toFH(r.A), "m", posrange.PositionRange{})
		return answer{F: ff(v), Annos: annos(a)}
	case "fraction":
		v, a := promql.HistogramFraction(pf(r.X[0]), pf(r.X[1]), toFH(r.A), "m", posrange.PositionRange{})
		return answer{F: ff(v), Annos: annos(a)}
	case "stddev", "stdvar":
		return answer{F: ff(histFunc("histogram_"+r.Op, toFH(r.A)))}
	}
	return answer{Err: "unknown op " + r.Op}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := enc.Encode(handle(r)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := out.Flush(); err != nil { // answer each request at once (callers may wait for it)
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
}
