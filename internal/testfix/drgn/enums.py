# For each enum tag in args: "TAG SIGNED NAME=VALUE ...", SIGNED 1 when its
# underlying type is signed (debug information only: no core).
for n in args:
    t = prog.type("enum " + n)
    print(n, int(t.type.is_signed), " ".join("%s=%d" % (e.name, e.value) for e in t.enumerators))
