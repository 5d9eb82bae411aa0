package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/kvmgen/kvmgen/printk"
	kvm "github.com/kvmgen/kvmgen/runtime"
)

func init() {
	register(command{
		name:  "dmesg",
		usage: "dmesg [-core DUMP] [-r] [-caller] [-json]: the kernel log (printk ring buffer) of a dump",
		run:   runDmesg,
	})
}

const dmesgSynopsis = `dmesg [-kernel VMLINUX] [-core DUMP] [-r] [-caller] [-notime] [-json]

Prints the kernel log held in the target's printk ring buffer (Linux 5.10+;
its layout comes from the dump's VMCOREINFO), one line per line of text as
the kernel's syslog interface gives it to dmesg: "[seconds.micros] text";
every line of a multi-line record carries its record's prefix. -r adds the
"<N>" prefix (facility * 8 + level) as dmesg -r; -caller the caller id
("[  T123]" a task, "[    C0]" a CPU) as CONFIG_PRINTK_CALLER would.
-json prints one JSON object per record (seq, ts_nsec, level, facility,
flags, caller_id, text, subsystem, device).

With -core, -kernel is not read when the dump's VMCOREINFO locates the
ring buffer (SYMBOL(prb)): the log needs nothing else.

Records whose descriptor or text cannot be decoded are skipped; the
others are printed, the errors go to standard error (with -json, a last
line {"partial":true,"errors":[...]}) and the command fails.`

// openForLog opens the target for reading its log. The ring buffer needs
// nothing but VMCOREINFO (SYMBOL(prb) and the layout), so a dump whose
// VMCOREINFO locates it is opened without -kernel's image: reading a
// vmlinux's symbol table would cost more than the whole log.
func openForLog(ta *targetArgs) (*kvm.KVM, error) {
	if *ta.kernel != "" && *ta.core != "" && !isLiveName(*ta.core) {
		if err := regularFile(*ta.core, "-core"); err != nil {
			return nil, err
		}
		kd, err := kvm.OpenOptions("", *ta.core, kvm.Options{Flags: os.O_RDONLY})
		if err == nil {
			if kd.VMCoreInfo() != nil && kd.VMCoreInfo().Fields["SYMBOL(prb)"] != "" {
				return kd, nil
			}
			kd.Close()
		}
	}
	return ta.open()
}

// PartialLogError says the log was printed with records missing.
type PartialLogError struct{ Err error }

func (e *PartialLogError) Error() string { return "dmesg: partial log: " + e.Err.Error() }

func runDmesg(stdout io.Writer, args []string) error {
	fs := newFlagSet("dmesg", dmesgSynopsis)
	ta := targetFlags(fs)
	raw := fs.Bool("r", false, "print each line's raw <level> prefix, as dmesg -r")
	caller := fs.Bool("caller", false, "print the caller id (task T<pid> or CPU C<n>) of each record")
	notime := fs.Bool("notime", false, "no timestamps")
	asJSON := fs.Bool("json", false, "one JSON object per record")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("dmesg: unexpected arguments %q", fs.Args())
	}
	kd, err := openForLog(ta)
	if err != nil {
		return err
	}
	defer kd.Close()
	i := kd.Info()
	lg, err := printk.Read(kd, kd.VMCoreInfo(), i.PtrSize, i.BigEndian, printk.Options{})
	if err != nil {
		return fmt.Errorf("dmesg: %w", err)
	}
	w := bufio.NewWriterSize(stdout, 1<<16)
	o := printk.FormatOptions{Raw: *raw, Caller: *caller, NoTime: *notime}
	for k := range lg.Records {
		r := &lg.Records[k]
		if *asJSON {
			w.Write(r.JSON())
			w.WriteByte('\n')
		} else {
			w.WriteString(r.Format(o))
		}
	}
	if *asJSON && lg.Partial {
		var errs []string
		for _, e := range lg.Errs {
			errs = append(errs, e.Error())
		}
		b, _ := json.Marshal(map[string]any{"partial": true, "errors": errs})
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if lg.Partial {
		return &PartialLogError{Err: lg.Err()}
	}
	return nil
}
