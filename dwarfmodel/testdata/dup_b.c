struct dup { float b; };	/* not dup_a.c's struct dup: see dup_a.c */
struct holder_b {
	struct dup d;
};
struct holder_b dup_b;
