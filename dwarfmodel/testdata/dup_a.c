struct dup { int a; };	/* dup_b.c defines another struct dup on its line 1 */
/*
 * dup_a.c, dup_b.c: two units defining different struct dup of one size on
 * the same line, for TestConflictingDefinitions (dwarfmodel/model_test.go):
 *
 *   gcc -O0 -g -gdwarf-5 -nostdlib -static -Wl,-e,0 -o OUT dup_a.c dup_b.c
 */
struct dup dup_a;
