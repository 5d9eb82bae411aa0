package kvm

import "testing"

func TestUntrusted(t *testing.T) {
	for in, want := range map[string]string{
		"3b43fad5034874490492495d552c0af6a5fab235": "3b43fad5034874490492495d552c0af6a5fab235",
		"6.1.0-56-cloud-amd64":                     "6.1.0-56-cloud-amd64",
		"3b43\xff\xfe":                             `"3b43\xff\xfe"`,
		"evil\x1b[2Jtitle":                         `"evil\x1b[2Jtitle"`,
		"":                                         "",
	} {
		if got := Untrusted(in); got != want {
			t.Errorf("Untrusted(%q) = %s, want %s", in, got, want)
		}
	}
}
