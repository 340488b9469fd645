package seatbelt

import "testing"

func TestRuleIndex(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want int
		ok   bool
	}{
		{DenyMessage(testTag, 0), 0, true},
		{DenyMessage(testTag, 12), 12, true},
		{"sbshim-test#7", 7, true},
		{"sbshim-other#7", 0, false},
		{"sbshim-test#", 0, false},
		{"sbshim-test#07", 0, false},
		{"sbshim-test#-1", 0, false},
		{"sbshim-test#+1", 0, false},
		{"sbshim-test#1 ", 0, false},
		{"sbshim-test#1x", 0, false},
		{"sbshim-test#1234567890", 0, false},
		{"xsbshim-test#1", 0, false},
		{"sbshim-test", 0, false},
	} {
		got, ok := RuleIndex(testTag, c.msg)
		if got != c.want || ok != c.ok {
			t.Errorf("RuleIndex(%q, %q) = %d, %v; want %d, %v", testTag, c.msg, got, ok, c.want, c.ok)
		}
	}
	if _, ok := RuleIndex("", "#1"); ok {
		t.Error(`RuleIndex("", "#1") accepted an empty tag`)
	}
}
