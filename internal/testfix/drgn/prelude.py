# The drgn oracle's prelude (internal/testfix.Drgn), run before each script
# of this directory: sys.argv is VMLINUX CORE ARGS..., CORE "" for the debug
# information alone. It gives the script `prog` and `args`.
import sys

import drgn

prog = drgn.Program()
if sys.argv[2]:
    prog.set_core_dump(sys.argv[2])
prog.load_debug_info([sys.argv[1]])
args = sys.argv[3:]
