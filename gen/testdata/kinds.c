/*
 * kinds.c: one of every C construct gen must bind, in globals whose values
 * the program prints (the oracle of gen's value test).
 *
 * Built by gen's tests (gen_test.go), into a temporary directory holding a
 * copy of this file, for each target CC in gcc (x86_64) and
 * s390x-linux-gnu-gcc (s390x, big-endian):
 *
 *   $CC -g -O0 -fdebug-prefix-map=$TMP=/kvmgen -c -o kinds.o kinds.c       (golden files)
 *   $CC -g -O0 -fdebug-prefix-map=$TMP=/kvmgen -static -o kinds kinds.c    (value test)
 *
 * Run (natively, or under qemu-s390x), it prints:
 *   sym NAME ADDRESS SIZE        one line per global, address in hex
 *   mem ADDRESS HEXBYTES         the bytes of each global (and of g_kinds'
 *                                flexible array past it)
 *   key=value                    every value stored, integers in decimal,
 *                                floats with %.17g, strings between quotes
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum kcolor { KRED, KGREEN, KBLUE = 200 };
enum ksign { KNEG = -5, KZERO = 0, KPOS = 7 };
typedef enum { TA = 1, TB = 2 } tenum_t;
typedef struct { int counter; } katomic_t;
typedef unsigned long kulong;
typedef char klabel_t[6];

struct klist {
	struct klist *next, *prev;
};

struct kinner {
	short x;
	unsigned char tag[3];
};

union kval {
	long l;
	double d;
	unsigned char raw[8];
};

struct kinds {
	char c;
	signed char sc;
	unsigned char uc;
	short s;
	unsigned short us;
	int i;
	unsigned int ui;
	long l;
	unsigned long ul;
	long long ll;
	unsigned long long ull;
	bool b;
	float f;
	double d;
	enum kcolor color;
	enum ksign sign;
	tenum_t te;
	katomic_t refs;
	kulong word;
	const volatile int cv;
	unsigned int bf_a : 3;
	signed int bf_b : 5;
	unsigned long long bf_c : 40;
	bool bf_d : 1;
	enum ksign bf_e : 4;
	int arr[4];
	short grid[2][3];
	char name[8];
	char names[2][6];
	klabel_t label;
	struct kinner inner;
	struct kinner inners[2];
	union kval val;
	union { /* anonymous union */
		int u_i;
		float u_f;
	};
	struct { /* anonymous struct */
		short ax, ay;
	};
	struct {
		int px, py;
	} pos; /* named member of an anonymous type */
	struct klist link;
	struct kinds *self;
	void *opaque;
	int (*fn)(int);
	struct klist **pp;
	const char *str;
	int addr;     /* collides with the Addr method */
	int bytes;    /* collides with the Bytes method */
	int foo_bar;  /* these two have the same Go name */
	int foo__bar;
	unsigned short nflex;
	int flex[]; /* flexible array member */
};

static int twice(int x) { return 2 * x; }
static struct klist *g_listp;

struct kinds g_kinds = {
	.c = 'k', .sc = -100, .uc = 250, .s = -30000, .us = 65000,
	.i = -2000000000, .ui = 4000000000u, .l = -1234567, .ul = 3000000000ul,
	.ll = -9000000000000000000ll, .ull = 18000000000000000000ull,
	.b = true, .f = -1.5f, .d = 3.25, .color = KBLUE, .sign = KNEG, .te = TB,
	.refs = {-42}, .word = 123456789ul, .cv = -7,
	.bf_a = 5, .bf_b = -11, .bf_c = 0xfedcba9876ull, .bf_d = true, .bf_e = KNEG,
	.arr = {1, -2, 3, -4}, .grid = {{1, 2, 3}, {-4, -5, -6}},
	.name = "kinds", .names = {"ab", "cdefg"}, .label = "lbl",
	.inner = {-9, {7, 8, 9}}, .inners = {{1, {1, 2, 3}}, {-2, {4, 5, 6}}},
	.val = {.d = -0.0625},
	.u_i = 0x11223344, .ax = -3, .ay = 4, .pos = {100, -200},
	.str = "a string",
	.addr = 77, .bytes = 88, .foo_bar = 1, .foo__bar = 2,
	.nflex = 3, .flex = {10, -20, 30},
};
int g_count = 3;
const char g_banner[] = "kinds-banner";
enum ksign g_sign = KNEG;
struct kinds *g_ptr = &g_kinds;
short g_vec[3] = {-1, 2, -3};

static void mem(const char *name, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	printf("sym %s %llx %zu\n", name, (unsigned long long)(uintptr_t)p, n);
	printf("mem %llx ", (unsigned long long)(uintptr_t)p);
	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

int main(void)
{
	struct kinds *k = &g_kinds;
	int i, j;

	g_listp = &k->link;
	k->link.next = &k->link;
	k->link.prev = &k->link;
	k->self = k;
	k->opaque = &g_count;
	k->fn = twice;
	k->pp = &g_listp;

	mem("g_kinds", k, sizeof *k + 3 * sizeof(int));
	mem("g_count", &g_count, sizeof g_count);
	mem("g_banner", g_banner, sizeof g_banner);
	mem("g_sign", &g_sign, sizeof g_sign);
	mem("g_ptr", &g_ptr, sizeof g_ptr);
	mem("g_vec", g_vec, sizeof g_vec);
	mem("g_listp", &g_listp, sizeof g_listp);
	mem("str", k->str, strlen(k->str) + 1);

	printf("c=%d\n", (int)k->c);
	printf("sc=%d\n", (int)k->sc);
	printf("uc=%u\n", (unsigned)k->uc);
	printf("s=%d\n", (int)k->s);
	printf("us=%u\n", (unsigned)k->us);
	printf("i=%d\n", k->i);
	printf("ui=%u\n", k->ui);
	printf("l=%ld\n", k->l);
	printf("ul=%lu\n", k->ul);
	printf("ll=%lld\n", k->ll);
	printf("ull=%llu\n", k->ull);
	printf("b=%d\n", (int)k->b);
	printf("f=%.17g\n", (double)k->f);
	printf("d=%.17g\n", k->d);
	printf("color=%u\n", (unsigned)k->color);
	printf("sign=%d\n", (int)k->sign);
	printf("te=%d\n", (int)k->te);
	printf("refs.counter=%d\n", k->refs.counter);
	printf("word=%lu\n", k->word);
	printf("cv=%d\n", k->cv);
	printf("bf_a=%u\n", (unsigned)k->bf_a);
	printf("bf_b=%d\n", (int)k->bf_b);
	printf("bf_c=%llu\n", (unsigned long long)k->bf_c);
	printf("bf_d=%d\n", (int)k->bf_d);
	printf("bf_e=%d\n", (int)k->bf_e);
	for (i = 0; i < 4; i++)
		printf("arr[%d]=%d\n", i, k->arr[i]);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++)
			printf("grid[%d][%d]=%d\n", i, j, (int)k->grid[i][j]);
	printf("name=\"%s\"\n", k->name);
	for (i = 0; i < 2; i++)
		printf("names[%d]=\"%s\"\n", i, k->names[i]);
	printf("label=\"%s\"\n", k->label);
	printf("inner.x=%d\n", (int)k->inner.x);
	for (i = 0; i < 3; i++)
		printf("inner.tag[%d]=%u\n", i, (unsigned)k->inner.tag[i]);
	for (i = 0; i < 2; i++) {
		printf("inners[%d].x=%d\n", i, (int)k->inners[i].x);
		for (j = 0; j < 3; j++)
			printf("inners[%d].tag[%d]=%u\n", i, j, (unsigned)k->inners[i].tag[j]);
	}
	printf("val.d=%.17g\n", k->val.d);
	printf("val.l=%ld\n", k->val.l);
	printf("u_i=%d\n", k->u_i);
	printf("u_f=%.17g\n", (double)k->u_f);
	printf("ax=%d\n", (int)k->ax);
	printf("ay=%d\n", (int)k->ay);
	printf("pos.px=%d\n", k->pos.px);
	printf("pos.py=%d\n", k->pos.py);
	printf("link.next=0x%llx\n", (unsigned long long)(uintptr_t)k->link.next);
	printf("link.prev=0x%llx\n", (unsigned long long)(uintptr_t)k->link.prev);
	printf("self=0x%llx\n", (unsigned long long)(uintptr_t)k->self);
	printf("self.i=%d\n", k->self->i);
	printf("opaque=0x%llx\n", (unsigned long long)(uintptr_t)k->opaque);
	printf("fn=0x%llx\n", (unsigned long long)(uintptr_t)k->fn);
	printf("pp=0x%llx\n", (unsigned long long)(uintptr_t)k->pp);
	printf("str=\"%s\"\n", k->str);
	printf("addr=%d\n", k->addr);
	printf("bytes=%d\n", k->bytes);
	printf("foo_bar=%d\n", k->foo_bar);
	printf("foo__bar=%d\n", k->foo__bar);
	printf("nflex=%u\n", (unsigned)k->nflex);
	for (i = 0; i < k->nflex; i++)
		printf("flex[%d]=%d\n", i, k->flex[i]);
	printf("g_count=%d\n", g_count);
	printf("g_banner=\"%s\"\n", g_banner);
	printf("g_sign=%d\n", (int)g_sign);
	printf("g_ptr=0x%llx\n", (unsigned long long)(uintptr_t)g_ptr);
	for (i = 0; i < 3; i++)
		printf("g_vec[%d]=%d\n", i, (int)g_vec[i]);
	return 0;
}
