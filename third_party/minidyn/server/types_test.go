package server

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"testing"
)

// refAV is AttributeValue as upstream wrote it, through reflection: the
// hand-written MarshalJSON must write the same bytes.
type refAV struct {
	B    []byte            `json:"B,omitempty"`
	BOOL *bool             `json:"BOOL,omitempty"`
	BS   [][]byte          `json:"BS,omitempty"`
	L    []*refAV          `json:"L,omitempty"`
	M    map[string]*refAV `json:"M,omitempty"`
	N    *string           `json:"N,omitempty"`
	NS   []*string         `json:"NS,omitempty"`
	NULL *bool             `json:"NULL,omitempty"`
	S    *string           `json:"S,omitempty"`
	SS   []*string         `json:"SS,omitempty"`
}

func (av refAV) MarshalJSON() ([]byte, error) {
	switch {
	case av.L != nil && len(av.L) == 0:
		return []byte(`{"L":[]}`), nil
	case av.M != nil && len(av.M) == 0:
		return []byte(`{"M":{}}`), nil
	}

	type plain refAV

	return json.Marshal(plain(av))
}

func toRef(av *AttributeValue) *refAV {
	if av == nil {
		return nil
	}

	r := &refAV{B: av.B, BOOL: av.BOOL, BS: av.BS, N: av.N, NS: av.NS, NULL: av.NULL, S: av.S, SS: av.SS}
	if av.L != nil {
		r.L = make([]*refAV, len(av.L))
		for i, e := range av.L {
			r.L[i] = toRef(e)
		}
	}

	if av.M != nil {
		r.M = map[string]*refAV{}
		for k, e := range av.M {
			r.M[k] = toRef(e)
		}
	}

	return r
}

var nasty = []string{"", "plain", `quote " and \ slash`, "<b>&amp;</b>", "tab\tnew\nline\r\x00\x1f\x7f",
	"é ü 日本", "\u2028\u2029", "bad \xff\xfe utf8", "emoji 😀", "\\u0041"}

func randAV(r *rand.Rand, depth int) *AttributeValue {
	str := func() *string { s := nasty[r.Intn(len(nasty))]; return &s }
	strs := func() []*string {
		var l []*string
		for range r.Intn(3) {
			if r.Intn(5) == 0 {
				l = append(l, nil)
			} else {
				l = append(l, str())
			}
		}

		return l
	}
	t, f := true, false
	av := &AttributeValue{}

	switch k := r.Intn(11); {
	case k == 0:
		av.S = str()
	case k == 1:
		av.N = str()
	case k == 2:
		av.B = []byte(*str())
	case k == 3:
		av.BOOL = []*bool{&t, &f}[r.Intn(2)]
	case k == 4:
		av.NULL = &t
	case k == 5:
		av.SS = strs()
	case k == 6:
		av.NS = strs()
	case k == 7:
		av.BS = [][]byte{[]byte(*str()), nil, {}}[:r.Intn(4)]
	case k == 8 && depth < 3:
		av.L = []*AttributeValue{}
		for range r.Intn(4) {
			if r.Intn(6) == 0 {
				av.L = append(av.L, nil)
			} else {
				av.L = append(av.L, randAV(r, depth+1))
			}
		}
	case k == 9 && depth < 3:
		av.M = map[string]*AttributeValue{}
		for range r.Intn(4) {
			av.M[*str()] = randAV(r, depth+1)
		}
	default:
		// several members at once, as a malformed request may decode to
		av.S, av.N, av.NULL, av.SS = str(), str(), &f, strs()
	}

	return av
}

func TestAttributeValueMarshalJSONMatchesReflection(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := range 20000 {
		av := randAV(r, 0)
		got, err := json.Marshal(av)
		if err != nil {
			t.Fatal(err)
		}

		want, err := json.Marshal(toRef(av))
		if err != nil {
			t.Fatal(err)
		}

		if !bytes.Equal(got, want) {
			t.Fatalf("value %d:\n got %s\nwant %s", i, got, want)
		}

		var back AttributeValue
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("value %d: %s does not decode: %v", i, got, err)
		}
	}
}

func randItem(r *rand.Rand) map[string]*AttributeValue {
	switch r.Intn(5) {
	case 0:
		return nil
	case 1:
		return map[string]*AttributeValue{}
	}

	item := map[string]*AttributeValue{}
	for range r.Intn(6) {
		item[nasty[r.Intn(len(nasty))]] = randAV(r, 1)
	}

	return item
}

func TestOutputsWriteTheJSONOfReflection(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i := range 5000 {
		var items []map[string]*AttributeValue
		if r.Intn(4) > 0 {
			items = []map[string]*AttributeValue{}
			for range r.Intn(5) {
				items = append(items, randItem(r))
			}
		}

		count, scanned := int32(r.Intn(3)), int32(r.Intn(3)-1)
		outs := []jsonAppender{
			&GetItemOutput{Item: randItem(r)},
			&PutItemOutput{Attributes: randItem(r)},
			&UpdateItemOutput{Attributes: randItem(r)},
			&DeleteItemOutput{Attributes: randItem(r)},
			&QueryOutput{Items: items, Count: count, ScannedCount: scanned, LastEvaluatedKey: randItem(r)},
			&ScanOutput{Items: items, Count: count, ScannedCount: scanned, LastEvaluatedKey: randItem(r)},
		}

		for _, o := range outs {
			want, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}

			if got := o.appendJSON(nil); !bytes.Equal(got, want) {
				t.Fatalf("case %d %T:\n got %s\nwant %s", i, o, got, want)
			}
		}
	}
}
