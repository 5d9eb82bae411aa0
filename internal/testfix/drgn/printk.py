# Every record of the printk ring buffer: "SEQ TIMESTAMP LEVEL HEX(TEXT)".
from drgn.helpers.linux.printk import get_printk_records

for r in get_printk_records(prog):
    print(r.seq, r.timestamp, r.level, r.text.hex())
