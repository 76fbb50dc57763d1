package extract

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/klippa-app/go-pdfium/requests"
)

func bagRecall(got, want string) (float64, []string) {
	have := map[string]int{}
	for _, w := range strings.Fields(got) {
		have[w]++
	}
	total, hit := 0, 0
	var miss []string
	for _, w := range strings.Fields(want) {
		total++
		if have[w] > 0 {
			have[w]--
			hit++
		} else {
			miss = append(miss, w)
		}
	}
	return float64(hit) / float64(total), miss
}

func TestExp2Tmp(t *testing.T) {
	pool, err := engine.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"contract", "long", "notice", "brief"} {
		b, _ := os.ReadFile("testdata/" + name + ".pdf")
		gold, _ := os.ReadFile("testdata/" + name + ".pdftotext.txt")
		d, err := Extract(context.Background(), "application/pdf", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		r, miss := bagRecall(d.Text(), string(gold))
		t.Logf("%s GetText recall %.4f miss %q", name, r, miss); if name == "brief" { t.Logf("%q", d.Pages) }
		inst, _ := pool.GetInstanceWithContext(context.Background())
		doc, _ := inst.OpenDocument(&requests.OpenDocument{File: &b})
		cnt, _ := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc.Document})
		var all []string
		for i := range cnt.PageCount {
			pt, err := inst.GetPageText(&requests.GetPageText{Page: requests.Page{ByIndex: &requests.PageByIndex{Document: doc.Document, Index: i}}})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, pt.Text)
		}
		inst.Close()
		r, miss = bagRecall(strings.Join(all, "\f"), string(gold))
		t.Logf("%s GetPageText recall %.4f miss %q", name, r, miss)
	}
}
