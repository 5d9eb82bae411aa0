package dwarfmodel_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/kvmgen/kvmgen/dwarfmodel"
)

// Open a kernel image, decode a struct and print its layout the way pahole
// does; unknown names come with suggestions.
func Example() {
	f, err := dwarfmodel.OpenWith("vmlinux", dwarfmodel.Options{
		CacheDir: dwarfmodel.DefaultCacheDir(), // reuse the index on the next run
	})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Println(f.DataModel().Arch, f.BuildID())

	t, err := f.Type("struct task_struct")
	var nf *dwarfmodel.NotFoundError
	if errors.As(err, &nf) {
		log.Fatalf("%v (suggestions: %v)", err, nf.Suggestions)
	} else if err != nil {
		log.Fatal(err)
	}
	s := dwarfmodel.Underlying(t).(*dwarfmodel.Struct)
	for _, m := range s.Members {
		if m.IsBitfield() {
			fmt.Printf("%s:%d; /* %d:%d */\n", dwarfmodel.Declare(m.Type, m.Name), m.BitSize, m.ByteOffset, m.DataBitOffset-m.ByteOffset*8)
			continue
		}
		fmt.Printf("%s; /* %d %d */\n", dwarfmodel.Declare(m.Type, m.Name), m.ByteOffset, m.Type.Size())
	}

	v, err := f.Variable("init_task")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("init_task at %#x is a %s\n", v.Address, dwarfmodel.Declare(v.Type, ""))
}
