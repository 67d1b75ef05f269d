package main

import (
	"slices"
	"testing"
)

func TestParseSteps(t *testing.T) {
	got, err := parseSteps("1000, 5000,15000")
	if err != nil || !slices.Equal(got, []int{1000, 5000, 15000}) {
		t.Errorf("parseSteps = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "10,5", "10,10", "x"} {
		if _, err := parseSteps(bad); err == nil {
			t.Errorf("parseSteps(%q) succeeded", bad)
		}
	}
}
