package dwarfmodel

import "testing"

func TestDeclareQualifiedArray(t *testing.T) {
	char := &Base{Name: "char", ByteSize: 1, Encoding: EncSignedChar}
	cchar := &Qualified{Const: true, Type: char}
	for _, tc := range []struct {
		t    Type
		want string
	}{
		// gcc: const -> array -> const char
		{&Qualified{Const: true, Type: &Array{Elem: cchar, Dims: []int64{13}}}, "const char g[13]"},
		// const -> array -> char
		{&Qualified{Const: true, Type: &Array{Elem: char, Dims: []int64{13}}}, "const char g[13]"},
		{&Array{Elem: cchar, Dims: []int64{2, 3}}, "const char g[2][3]"},
		{&Qualified{Volatile: true, Type: &Array{Elem: cchar, Dims: []int64{4}}}, "const volatile char g[4]"},
		{&Qualified{Const: true, Type: &Pointer{Elem: char, ByteSize: 8}}, "char *const g"},
		{&Pointer{Elem: cchar, ByteSize: 8}, "const char *g"},
	} {
		if got := Declare(tc.t, "g"); got != tc.want {
			t.Errorf("Declare = %q, want %q", got, tc.want)
		}
	}
}
