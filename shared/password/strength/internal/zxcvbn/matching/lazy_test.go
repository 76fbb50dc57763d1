package matching

import "testing"

// TestLazyLoad checks nothing is built at package init (the accounts
// function starts without decoding the dictionaries) and the first match
// builds it all.
func TestLazyLoad(t *testing.T) {
	if dictionaryMatchers != nil || adjacencyGraphs != nil || matchers != nil {
		t.Fatal("dictionaries built at package init")
	}
	if len(Omnimatch("password1", nil)) == 0 {
		t.Error("no matches for password1")
	}
	if len(dictionaryMatchers) != 5 || len(adjacencyGraphs) != 4 {
		t.Errorf("%d dictionaries, %d graphs after the first match; want 5, 4", len(dictionaryMatchers), len(adjacencyGraphs))
	}
}
