/*
 * truth.c: kvmgen's one C truth program. It declares one of every C construct
 * kvmgen must lay out, decode and bind, and prints the values it stored: the
 * oracle of the layout, value and binding tests. Every test that needs a C
 * program of "every construct" builds this one, through one pipeline,
 * internal/testfix (testfix.Truth, testfix.TruthObject; the fixtures under
 * cross/ with scripts/build-cross.sh, which runs the same code):
 *
 *   cd DIR    (a directory holding copies of truth.c and decl.c)
 *   $CC -O0 -g -fno-omit-frame-pointer -ffile-prefix-map=$PWD=. FLAGS -static -o prog truth.c decl.c
 *   $CC -O0 -g -fno-omit-frame-pointer -ffile-prefix-map=$PWD=. FLAGS -c -o prog.o truth.c
 *
 * FLAGS being what the test varies: -gdwarf-N (2 to 5; -gstrict-dwarf),
 * -gz=zlib, -fdebug-types-section, and $CC gcc, i686-linux-gnu-gcc,
 * aarch64-linux-gnu-gcc, s390x-linux-gnu-gcc or clang-14. The prefix map
 * keeps the DWARF, and so the GNU build ID, independent of the directory
 * (the committed bindings in internal/truth record that build ID). decl.c is
 * a second compilation unit that only declares struct list_head.
 *
 * Its sections:
 *   1. struct node and friends (internal/truth: layout against pahole and
 *      gdb, values read back through generated bindings from the core);
 *   2. struct kinds and friends (gen and cmd/kvmgen: golden bindings, and
 *      values read back through bindings from the bytes the program prints);
 *   3. the type shapes dwarfmodel decodes (struct bits, ops, quals, ...),
 *      each kept by a global variable.
 *
 * Run (natively, or under qemu-i386, qemu-aarch64, qemu-s390x), it prints:
 *
 *   prog          section 1: every value it stored, then calls abort() so
 *                 that a core file is written (prog.out and prog.core);
 *   prog kinds    section 2: "sym NAME ADDRESS SIZE" (address in hex) and
 *                 "mem ADDRESS HEXBYTES" lines for each global (and g_kinds'
 *                 flexible array past it), then the values; exits 0.
 *
 * Values are "key=value" lines: integers in decimal (signed as signed),
 * pointers as 0x%llx, strings between double quotes (no escapes: every
 * string here is plain ASCII without quotes or backslashes); floats as C99
 * hexadecimal floats (%a, exact) in section 1, with %.17g in section 2.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NNODES 3 /* the nodes of section 1's list */

/* ==== section 1: struct node and friends (internal/truth) ==== */

/* ---- enums ---- */
enum color { COLOR_RED, COLOR_GREEN, COLOR_BLUE = 200 };     /* unsigned */
enum delta { DELTA_NEG = -5, DELTA_ZERO = 0, DELTA_POS = 7 }; /* signed, negative value */
enum wide { WIDE_SMALL = 1, WIDE_BIG = 0x1ffffffffLL };      /* 8 bytes (GNU) */
enum __attribute__((packed)) tiny { TINY_A = 1, TINY_B = 2, TINY_C = 250 }; /* 1 byte */

/* ---- typedefs ---- */
typedef unsigned int u32_t;
typedef u32_t counter_t;                  /* typedef of a typedef */
typedef int (*op_fn)(int, const char *);  /* function pointer */
typedef struct node node_t;               /* typedef of an (incomplete here) struct */
typedef char label_t[8];                  /* typedef of an array */

/* ---- base types of every width ---- */
struct ints {
	char c;
	char hc; /* a "negative" plain char: signed on x86, unsigned on aarch64 and s390x */
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
	int8_t i8;
	uint8_t u8;
	int16_t i16;
	uint16_t u16;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	bool b;
	_Bool b2;
	float f;
	double d;
	size_t sz;
	intptr_t ip;
};

/* ---- bitfields ---- */
struct flags {
	unsigned int ready : 1;
	unsigned int mode : 3;
	signed int level : 5;      /* signed, holds negatives */
	unsigned int wide : 20;
	unsigned int next_unit : 7; /* does not fit in the first int: new unit */
	unsigned short s5 : 5;
	signed char sneg : 4;
	unsigned long long big : 40; /* 64-bit storage unit */
	signed long long sbig : 33;
	bool flag : 1;
	enum color col : 8;        /* unsigned enum bitfield */
	enum delta dl : 4;         /* signed enum bitfield */
	unsigned int : 0;          /* zero width: next field starts a new unit */
	unsigned int after_zero : 2;
	unsigned char : 3;         /* unnamed padding bits */
	unsigned char lastbits : 5;
};

/* packed: fields straddle bytes and 32-bit words */
struct __attribute__((packed)) packed_bits {
	unsigned char a : 3;
	unsigned int straddle : 30;
	unsigned short s9 : 9;
	signed int neg : 11;
	uint8_t end;
	uint32_t unaligned; /* a plain member at an odd offset */
};

/* layout only (g_exotic): types kvmgen lays out but does not decode */
struct exotic {
	char tag;
	long double ld;        /* 12 bytes on i386, 16 elsewhere */
	double _Complex cd;
	float _Complex cf;
	void (*handlers[2])(int); /* array of function pointers */
	const char *const *argv; /* pointer to const pointer */
};

/* ---- nested, anonymous, unions ---- */
struct point {
	short x;
	short y;
};

union value {
	long lv;
	double dv;
	unsigned char raw[8];
};

struct shape {
	int kind;
	union { /* anonymous union */
		struct { /* anonymous struct inside it */
			int w;
			int h;
		};
		struct {
			short r;
			short pad;
		} circle; /* named member of an anonymous struct type */
		double area;
	};
	struct { /* anonymous struct */
		unsigned char red, green, blue;
	};
	struct point origin; /* nested struct by value */
};

/* ---- arrays ---- */
struct arrays {
	int one[4];
	short matrix[2][3];
	unsigned char cube[2][2][2];
	char name[12];
	label_t label;      /* typedef of array */
	struct point pts[3]; /* array of structs */
	struct node *ptrs[2]; /* array of pointers */
	int zero[0];        /* zero-length, not last (GNU) */
	long after;
};

struct flex {
	unsigned short n;
	int items[]; /* flexible array member */
};

/* ---- the list node: a bit of everything ---- */
struct node {
	int id;
	struct node *next;
	node_t *prev;               /* through a typedef */
	struct node **slot;         /* pointer to pointer */
	void *opaque;               /* void * */
	op_fn fn;                   /* typedef'd function pointer */
	int (*raw_fn)(void);        /* plain function pointer */
	const char *label;          /* pointer to string */
	const volatile int cv;      /* const volatile */
	volatile unsigned long tick;
	counter_t count;
	enum color color;
	enum delta delta;
	enum wide wide;
	enum tiny tiny;
	struct ints ints;
	struct flags flags;
	struct packed_bits pb;
	struct shape shape;
	struct arrays arr;
	struct point pos;
	union value val;
	union { /* anonymous union directly in node */
		uint32_t word;
		uint8_t bytes[4];
	};
	struct flex *extra;
};

/* ---- globals ---- */
struct node *g_head;
int g_count = NNODES;     /* section 2 prints it too */
enum delta g_delta = DELTA_NEG;
const char g_banner[] = "kvmgen-truth"; /* section 2 prints it too */
struct ints g_ints;
struct flex *g_flex;
struct exotic g_exotic;

/* ==== section 2: struct kinds and friends (gen, cmd/kvmgen) ==== */

enum kcolor { KRED, KGREEN, KBLUE = 200 };
enum ksign { KNEG = -5, KZERO = 0, KPOS = 7 };
typedef enum { TA = 1, TB = 2 } tenum_t;
typedef struct { int counter; } katomic_t;
typedef unsigned long kulong;
typedef char klabel_t[6];

struct klist {
	struct klist *next, *prev;
};

struct khidden; /* declared, never defined: pointers to it get an opaque type */

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
	struct khidden *hidden;
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

/* ==== section 3: the type shapes dwarfmodel decodes ==== */

typedef unsigned int u32;
typedef signed char s8;
typedef unsigned long long u64;
typedef u32 u32_alias;

struct list_head {
	struct list_head *next, *prev;
};

enum hue { RED, GREEN = 5, BLUE = 1000 };
enum negative { NEG_MIN = -2147483647 - 1, NEG_ONE = -1, NEG_ZERO = 0 };
enum big_unsigned { BIG_TOP = 0xfffffffful, BIG_ONE = 1 };
enum small { SMALL_A = 1, SMALL_B = 2 } __attribute__((packed));

struct bits {
	unsigned int a : 3;
	unsigned int b : 5;
	signed int c : 7;
	unsigned int d : 17;	/* straddles into the next 32-bit unit */
	unsigned char e : 1;
	unsigned long long f : 40;
	long long g : 23;	/* signed, straddles */
	unsigned short h : 9;
	_Bool flag : 1;
};

struct __attribute__((packed)) packed_units {
	unsigned char x;
	unsigned int y : 20;	/* straddles storage units */
	unsigned int z : 12;
	unsigned long long w : 33;
};

union number {
	int i;
	float f;
	double d;
	unsigned char bytes[8];
};

struct anon_members {
	int kind;
	union {
		long l;
		void *p;
	};
	struct {
		short x, y;
	};
	struct {
		char tag;
	} named;
};

typedef int (*binop_fn)(int, int);
typedef void (*logger_fn)(const char *fmt, ...);

struct ops {
	binop_fn add;
	int (*sub)(int a, int b);
	void (*log)(const char *, ...);
	char *(*lookup)(const struct ops *self, unsigned long key);
	void (*noargs)(void);
};

struct array_dims {
	int one[4];
	short two[2][3];
	char three[2][3][4];
	struct list_head heads[2];
	char big[256];	/* upper bound 255: a data1 form */
	int zero[0];
};

struct quals {
	const int ci;
	volatile unsigned long vl;
	const volatile char cvc;
	const char *pcc;
	char *const cpc;
	int *restrict rp;
	_Atomic int ai;
};

struct incomplete;	/* declared, never defined */

struct uses_incomplete {
	struct incomplete *p;
	u32_alias alias;
	s8 small;
	u64 wide;
	enum hue color;
	enum negative neg;
	enum big_unsigned bigu;
	enum small sm;
	float fl;
	double db;
	long double ld;
	_Bool b;
	char ch;
	signed char sc;
	unsigned char uc;
	short s;
	unsigned short us;
	long l;
	unsigned long ul;
	long long ll;
	size_t sz;
};

struct nested {
	struct inner {
		int a;
		char b;
	} in;
	struct list_head link;
	struct nested *self;
};

typedef struct {
	int x;
} anon_typedef;

struct list_head global_list;
enum hue global_color = GREEN;
struct bits global_bits;
struct packed_units global_packed;
union number global_number;
struct anon_members global_anon;
struct ops global_ops;
struct array_dims global_arrays;
struct flex *global_flex;
struct quals *global_quals;
struct uses_incomplete global_uses;
struct nested global_nested;
anon_typedef global_anon_typedef;
logger_fn global_logger;
const int global_const = 42;
int global_matrix[3][5];

/* ==== the reports ==== */

static int op_add(int a, const char *s) { return a + (int)strlen(s); }
static int answer(void) { return 42; }

static void print_ints(const char *p, const struct ints *v)
{
	printf("%s.c=%d\n", p, (int)v->c);
	printf("%s.hc=%d\n", p, (int)v->hc);
	printf("%s.sc=%d\n", p, (int)v->sc);
	printf("%s.uc=%u\n", p, (unsigned)v->uc);
	printf("%s.s=%d\n", p, (int)v->s);
	printf("%s.us=%u\n", p, (unsigned)v->us);
	printf("%s.i=%d\n", p, v->i);
	printf("%s.ui=%u\n", p, v->ui);
	printf("%s.l=%ld\n", p, v->l);
	printf("%s.ul=%lu\n", p, v->ul);
	printf("%s.ll=%lld\n", p, v->ll);
	printf("%s.ull=%llu\n", p, v->ull);
	printf("%s.i8=%d\n", p, (int)v->i8);
	printf("%s.u8=%u\n", p, (unsigned)v->u8);
	printf("%s.i16=%d\n", p, (int)v->i16);
	printf("%s.u16=%u\n", p, (unsigned)v->u16);
	printf("%s.i32=%ld\n", p, (long)v->i32);
	printf("%s.u32=%lu\n", p, (unsigned long)v->u32);
	printf("%s.i64=%lld\n", p, (long long)v->i64);
	printf("%s.u64=%llu\n", p, (unsigned long long)v->u64);
	printf("%s.b=%d\n", p, (int)v->b);
	printf("%s.b2=%d\n", p, (int)v->b2);
	printf("%s.f=%a\n", p, (double)v->f);
	printf("%s.d=%a\n", p, v->d);
	printf("%s.sz=%llu\n", p, (unsigned long long)v->sz);
	printf("%s.ip=%lld\n", p, (long long)v->ip);
}

static void fill_ints(struct ints *v, int k)
{
	v->c = (char)('A' + k);
	v->hc = (char)(0xc8 + k);
	v->sc = (signed char)(-100 - k);
	v->uc = (unsigned char)(250 + k);
	v->s = (short)(-30000 - k);
	v->us = (unsigned short)(65000 + k);
	v->i = -2000000000 - k;
	v->ui = 4000000000u + (unsigned)k;
	v->l = -1234567 - k; /* fits in 32 bits: long differs by target */
	v->ul = 3000000000ul + (unsigned long)k;
	v->ll = -9000000000000000000ll - k;
	v->ull = 18000000000000000000ull + (unsigned long long)k;
	v->i8 = (int8_t)(-128 + k);
	v->u8 = (uint8_t)(255 - k);
	v->i16 = (int16_t)(-32768 + k);
	v->u16 = (uint16_t)(0xfedc + k);
	v->i32 = (int32_t)(-2147483647 - 1 + k);
	v->u32 = 0xdeadbeefu - (uint32_t)k;
	v->i64 = (int64_t)(-0x123456789abcdefll - k);
	v->u64 = 0xfedcba9876543210ull + (uint64_t)k;
	v->b = (k % 2) == 0;
	v->b2 = (k % 2) == 1;
	v->f = -1.5f / (float)(k + 1) + 0.1f;
	v->d = 3.141592653589793 * (k + 1) - 1e-300;
	v->sz = (size_t)(12345 + k);
	v->ip = (intptr_t)(-77 - k);
}

/* Section 1's report: builds the list, prints every value, aborts. */
static void truth_report(void)
{
	static const char *labels[NNODES] = {"alpha", "bravo", "charlie-delta"};
	struct node *nodes[NNODES];
	int k;

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (k = 0; k < NNODES; k++) {
		nodes[k] = calloc(1, sizeof(struct node));
		if (!nodes[k])
			exit(1);
	}
	g_flex = malloc(sizeof(struct flex) + 5 * sizeof(int));
	g_flex->n = 5;
	for (k = 0; k < 5; k++)
		g_flex->items[k] = (k - 2) * 1000003;

	for (k = 0; k < NNODES; k++) {
		struct node *n = nodes[k];
		int i, j, m;

		n->id = 100 + k;
		n->next = k + 1 < NNODES ? nodes[k + 1] : NULL;
		n->prev = k > 0 ? nodes[k - 1] : NULL;
		n->slot = &nodes[k]->next;
		n->opaque = k == 1 ? (void *)g_flex : NULL;
		n->fn = k == 0 ? op_add : NULL;
		n->raw_fn = k == 2 ? answer : NULL;
		n->label = labels[k];
		*(int *)&n->cv = -7 * (k + 1);
		n->tick = 0xfffffff0ul + (unsigned long)k;
		n->count = 4294967295u - (unsigned)k;
		n->color = k == 0 ? COLOR_RED : k == 1 ? COLOR_GREEN : COLOR_BLUE;
		n->delta = k == 0 ? DELTA_NEG : k == 1 ? DELTA_ZERO : DELTA_POS;
		n->wide = k == 1 ? WIDE_BIG : WIDE_SMALL;
		n->tiny = k == 2 ? TINY_C : TINY_A;
		fill_ints(&n->ints, k);

		n->flags.ready = k & 1;
		n->flags.mode = (5 + k) & 7;
		n->flags.level = -16 + 7 * k; /* -16, -9, -2 */
		n->flags.wide = 0xabcde + k;
		n->flags.next_unit = 127 - k;
		n->flags.s5 = 17 + k;
		n->flags.sneg = -8 + 3 * k;
		n->flags.big = 0xfedcba9876ull + (unsigned long long)k;
		n->flags.sbig = -4294967296ll + k;
		n->flags.flag = k != 1;
		n->flags.col = k == 2 ? COLOR_BLUE : COLOR_GREEN;
		n->flags.dl = k == 0 ? DELTA_NEG : k == 1 ? DELTA_ZERO : DELTA_POS;
		n->flags.after_zero = (unsigned)(k + 1) & 3;
		n->flags.lastbits = 31 - k;

		n->pb.a = (unsigned)(k + 5) & 7;
		n->pb.straddle = 0x2aaaaaaau + (unsigned)k;
		n->pb.s9 = 300 + k;
		n->pb.neg = -1000 + k;
		n->pb.end = 0xa5;
		n->pb.unaligned = 0x01020304u * (unsigned)(k + 1);

		n->shape.kind = k;
		if (k == 0) {
			n->shape.w = 640;
			n->shape.h = -480;
		} else if (k == 1) {
			n->shape.circle.r = -12;
			n->shape.circle.pad = 34;
		} else {
			n->shape.area = 2.5e10;
		}
		n->shape.red = 10 + k;
		n->shape.green = 200 + k;
		n->shape.blue = 255 - k;
		n->shape.origin.x = -1 - k;
		n->shape.origin.y = 1 + k;

		for (i = 0; i < 4; i++)
			n->arr.one[i] = (k + 1) * (i - 2);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 3; j++)
				n->arr.matrix[i][j] = (short)(-100 * i + 10 * j + k);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 2; j++)
				for (m = 0; m < 2; m++)
					n->arr.cube[i][j][m] = (unsigned char)(i * 4 + j * 2 + m + 16 * k);
		snprintf(n->arr.name, sizeof n->arr.name, "node-%d", k);
		snprintf(n->arr.label, sizeof n->arr.label, "L%d", k * 11);
		for (i = 0; i < 3; i++) {
			n->arr.pts[i].x = (short)(i + 10 * k);
			n->arr.pts[i].y = (short)(-i - 10 * k);
		}
		n->arr.ptrs[0] = n;
		n->arr.ptrs[1] = n->next;
		n->arr.after = -99999 - k;

		n->pos.x = (short)(1000 * k - 1);
		n->pos.y = (short)(-1000 * k + 1);
		if (k == 1)
			n->val.dv = -0.0625;
		else
			n->val.lv = -42 - k;
		n->word = 0x11223344u + (uint32_t)k;
		n->extra = k == 2 ? g_flex : NULL;
	}
	g_head = nodes[0];
	g_count = NNODES;
	fill_ints(&g_ints, 7);

	/* ---- print everything ---- */
	printf("g_count=%d\n", g_count);
	printf("g_delta=%d\n", (int)g_delta);
	printf("g_banner=\"%s\"\n", g_banner);
	printf("g_head=0x%llx\n", (unsigned long long)(uintptr_t)g_head);
	printf("g_flex=0x%llx\n", (unsigned long long)(uintptr_t)g_flex);
	printf("g_flex.n=%u\n", (unsigned)g_flex->n);
	for (k = 0; k < g_flex->n; k++)
		printf("g_flex.items[%d]=%d\n", k, g_flex->items[k]);
	print_ints("g_ints", &g_ints);

	for (k = 0; k < NNODES; k++) {
		const struct node *n = nodes[k];
		char p[32];
		int i, j, m;

		snprintf(p, sizeof p, "node[%d]", k);
		printf("%s=0x%llx\n", p, (unsigned long long)(uintptr_t)n);
		printf("%s.id=%d\n", p, n->id);
		printf("%s.next=0x%llx\n", p, (unsigned long long)(uintptr_t)n->next);
		printf("%s.prev=0x%llx\n", p, (unsigned long long)(uintptr_t)n->prev);
		printf("%s.slot=0x%llx\n", p, (unsigned long long)(uintptr_t)n->slot);
		printf("%s.opaque=0x%llx\n", p, (unsigned long long)(uintptr_t)n->opaque);
		printf("%s.fn=0x%llx\n", p, (unsigned long long)(uintptr_t)n->fn);
		printf("%s.raw_fn=0x%llx\n", p, (unsigned long long)(uintptr_t)n->raw_fn);
		printf("%s.label=\"%s\"\n", p, n->label);
		printf("%s.cv=%d\n", p, n->cv);
		printf("%s.tick=%lu\n", p, n->tick);
		printf("%s.count=%u\n", p, n->count);
		printf("%s.color=%u\n", p, (unsigned)n->color);
		printf("%s.delta=%d\n", p, (int)n->delta);
		printf("%s.wide=%llu\n", p, (unsigned long long)n->wide);
		printf("%s.tiny=%u\n", p, (unsigned)n->tiny);
		{
			char q[48];
			snprintf(q, sizeof q, "%s.ints", p);
			print_ints(q, &n->ints);
		}
		printf("%s.flags.ready=%u\n", p, (unsigned)n->flags.ready);
		printf("%s.flags.mode=%u\n", p, (unsigned)n->flags.mode);
		printf("%s.flags.level=%d\n", p, (int)n->flags.level);
		printf("%s.flags.wide=%u\n", p, (unsigned)n->flags.wide);
		printf("%s.flags.next_unit=%u\n", p, (unsigned)n->flags.next_unit);
		printf("%s.flags.s5=%u\n", p, (unsigned)n->flags.s5);
		printf("%s.flags.sneg=%d\n", p, (int)n->flags.sneg);
		printf("%s.flags.big=%llu\n", p, (unsigned long long)n->flags.big);
		printf("%s.flags.sbig=%lld\n", p, (long long)n->flags.sbig);
		printf("%s.flags.flag=%d\n", p, (int)n->flags.flag);
		printf("%s.flags.col=%u\n", p, (unsigned)n->flags.col);
		printf("%s.flags.dl=%d\n", p, (int)n->flags.dl);
		printf("%s.flags.after_zero=%u\n", p, (unsigned)n->flags.after_zero);
		printf("%s.flags.lastbits=%u\n", p, (unsigned)n->flags.lastbits);
		printf("%s.pb.a=%u\n", p, (unsigned)n->pb.a);
		printf("%s.pb.straddle=%u\n", p, (unsigned)n->pb.straddle);
		printf("%s.pb.s9=%u\n", p, (unsigned)n->pb.s9);
		printf("%s.pb.neg=%d\n", p, (int)n->pb.neg);
		printf("%s.pb.end=%u\n", p, (unsigned)n->pb.end);
		printf("%s.pb.unaligned=%lu\n", p, (unsigned long)n->pb.unaligned);
		printf("%s.shape.kind=%d\n", p, n->shape.kind);
		if (k == 0) {
			printf("%s.shape.w=%d\n", p, n->shape.w);
			printf("%s.shape.h=%d\n", p, n->shape.h);
		} else if (k == 1) {
			printf("%s.shape.circle.r=%d\n", p, (int)n->shape.circle.r);
			printf("%s.shape.circle.pad=%d\n", p, (int)n->shape.circle.pad);
		} else {
			printf("%s.shape.area=%a\n", p, n->shape.area);
		}
		printf("%s.shape.red=%u\n", p, (unsigned)n->shape.red);
		printf("%s.shape.green=%u\n", p, (unsigned)n->shape.green);
		printf("%s.shape.blue=%u\n", p, (unsigned)n->shape.blue);
		printf("%s.shape.origin.x=%d\n", p, (int)n->shape.origin.x);
		printf("%s.shape.origin.y=%d\n", p, (int)n->shape.origin.y);
		for (i = 0; i < 4; i++)
			printf("%s.arr.one[%d]=%d\n", p, i, n->arr.one[i]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 3; j++)
				printf("%s.arr.matrix[%d][%d]=%d\n", p, i, j, (int)n->arr.matrix[i][j]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 2; j++)
				for (m = 0; m < 2; m++)
					printf("%s.arr.cube[%d][%d][%d]=%u\n", p, i, j, m, (unsigned)n->arr.cube[i][j][m]);
		printf("%s.arr.name=\"%s\"\n", p, n->arr.name);
		printf("%s.arr.label=\"%s\"\n", p, n->arr.label);
		for (i = 0; i < 3; i++) {
			printf("%s.arr.pts[%d].x=%d\n", p, i, (int)n->arr.pts[i].x);
			printf("%s.arr.pts[%d].y=%d\n", p, i, (int)n->arr.pts[i].y);
		}
		for (i = 0; i < 2; i++)
			printf("%s.arr.ptrs[%d]=0x%llx\n", p, i, (unsigned long long)(uintptr_t)n->arr.ptrs[i]);
		printf("%s.arr.after=%ld\n", p, n->arr.after);
		printf("%s.pos.x=%d\n", p, (int)n->pos.x);
		printf("%s.pos.y=%d\n", p, (int)n->pos.y);
		if (k == 1)
			printf("%s.val.dv=%a\n", p, n->val.dv);
		else
			printf("%s.val.lv=%ld\n", p, n->val.lv);
		for (i = 0; i < 8; i++)
			printf("%s.val.raw[%d]=%u\n", p, i, (unsigned)n->val.raw[i]);
		printf("%s.word=%lu\n", p, (unsigned long)n->word);
		for (i = 0; i < 4; i++)
			printf("%s.bytes[%d]=%u\n", p, i, (unsigned)n->bytes[i]);
		printf("%s.extra=0x%llx\n", p, (unsigned long long)(uintptr_t)n->extra);
	}
	fflush(stdout);
	abort();
}

/* Section 2's report: the globals' bytes and values. */
static int kinds_report(void)
{
	struct kinds *k = &g_kinds;
	int i, j;

	g_listp = &k->link;
	k->link.next = &k->link;
	k->link.prev = &k->link;
	k->self = k;
	k->opaque = &g_count;
	k->hidden = (struct khidden *)&g_count;
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
	printf("hidden=0x%llx\n", (unsigned long long)(uintptr_t)k->hidden);
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

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "kinds") == 0)
		return kinds_report();
	truth_report();
	return 1; /* not reached: truth_report aborts */
}
