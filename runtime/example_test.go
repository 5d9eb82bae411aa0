package kvm_test

import (
	"fmt"
	"os"

	kvm "github.com/kvmgen/kvmgen/runtime"
)

// Reading a kernel variable from a crash dump.
func ExampleOpen2() {
	kd, err := kvm.Open2("vmlinux", "vmcore", os.O_RDONLY, nil)
	if err != nil {
		fmt.Println(err) // e.g. a *kvm.BuildIDError when the dump is of another kernel
		return
	}
	defer kd.Close()
	addr, err := kd.LookupSymbol("linux_banner") // run-time address: KASLR displacement applied
	if err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, 64)
	if _, err := kd.Read2(addr, buf); err != nil {
		fmt.Println(err) // a *kvm.ReadError naming the address
		return
	}
	fmt.Printf("%s: %q\n", kd.Info().Format, buf)
}

// Looking several symbols up at once, as kvm_nlist2 does.
func ExampleKVM_Nlist2() {
	kd, err := kvm.Open2("vmlinux", "vmcore", os.O_RDONLY, nil)
	if err != nil {
		return
	}
	defer kd.Close()
	nl := []kvm.Nlist{{Name: "init_task"}, {Name: "jiffies"}}
	missing, _ := kd.Nlist2(nl)
	fmt.Println(missing, "not found")
	for _, n := range nl {
		fmt.Printf("%s %#x\n", n.Name, n.Value)
	}
}
