# Compresses a file of pages with LZO1X-1 (python3-lzo, an independent
# encoder) for the kdump re-encoding test: reads PAGESIZE-byte pages from
# argv[2], writes for each a 4-byte little-endian length and the raw LZO1X
# stream (no header) to argv[3].
import struct
import sys

import lzo

size = int(sys.argv[1])
with open(sys.argv[2], "rb") as src, open(sys.argv[3], "wb") as dst:
    while True:
        page = src.read(size)
        if not page:
            break
        c = lzo.compress(page, 1, False)
        dst.write(struct.pack("<I", len(c)))
        dst.write(c)
