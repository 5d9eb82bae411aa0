/*
 * decl.c: a second compilation unit that only declares struct list_head
 * (defined in types.c), for the test that a declaration resolves to the
 * definition in another unit. Linked with types.c by objects() in
 * dwarfmodel/crossbuild_test.go:
 *
 *   CC -O0 -g -gdwarf-N -nostdlib -static -Wl,-e,0 -Wl,--build-id \
 *      -o OUT types.c decl.c
 */
struct list_head;

struct holder {
	struct list_head *head;
	int n;
};

struct holder global_holder;
