package mcp

import (
	"cmp"
	"slices"
)

func sortBySeq(cs []*Call) {
	slices.SortFunc(cs, func(a, b *Call) int { return cmp.Compare(a.Seq, b.Seq) })
}

func sortCallsBySeq(cs []Call) {
	slices.SortFunc(cs, func(a, b Call) int { return cmp.Compare(a.Seq, b.Seq) })
}
