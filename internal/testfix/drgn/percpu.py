# per_cpu_ptr on CPU 0 of runqueues and of vm_event_states, one hex address
# a line (runtime's per-CPU tests).
from drgn.helpers.linux.percpu import per_cpu_ptr

print(hex(per_cpu_ptr(prog["runqueues"].address_of_(), 0).value_()))
print(hex(per_cpu_ptr(prog["vm_event_states"].address_of_(), 0).value_()))
