/*
 * decl.c: the truth program's second compilation unit (see truth.c), linked
 * into every build of the program (not into its objects). It only declares
 * struct list_head, which truth.c defines: dwarfmodel's test that a
 * declaration resolves to the definition in another unit reads struct
 * holder.
 */
struct list_head;

struct holder {
	struct list_head *head;
	int n;
};

struct holder global_holder;
