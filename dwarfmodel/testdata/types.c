/*
 * types.c: every C type construct dwarfmodel decodes, for its tests.
 *
 * Built by TestMain in dwarfmodel/crossbuild_test.go, for each compiler
 * found (gcc, i686-linux-gnu-gcc, aarch64-linux-gnu-gcc,
 * s390x-linux-gnu-gcc), as a relocatable object:
 *
 *   CC -c -O0 -g -gdwarf-N [-gz=zlib|-gz=zstd] -o OUT.o types.c
 *
 * with N in 4 and 5 (and 2 with the native gcc), so that the tests see
 * DWARF 2 to 5, 32- and 64-bit, little- and big-endian, and compressed
 * debug sections. Every type is used by a global variable so the compiler
 * keeps it.
 */
#include <stddef.h>

typedef unsigned int u32;
typedef signed char s8;
typedef unsigned long long u64;
typedef u32 u32_alias;

struct list_head {
	struct list_head *next, *prev;
};

enum color { RED, GREEN = 5, BLUE = 1000 };
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

struct __attribute__((packed)) packed_bits {
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

struct arrays {
	int one[4];
	short two[2][3];
	char three[2][3][4];
	struct list_head heads[2];
	char big[256];	/* upper bound 255: a data1 form */
	int zero[0];
};

struct flex {
	unsigned int len;
	unsigned char data[];
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
	enum color color;
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
enum color global_color = GREEN;
struct bits global_bits;
struct packed_bits global_packed;
union number global_number;
struct anon_members global_anon;
struct ops global_ops;
struct arrays global_arrays;
struct flex *global_flex;
struct quals *global_quals;
struct uses_incomplete global_uses;
struct nested global_nested;
anon_typedef global_anon_typedef;
logger_fn global_logger;
const int global_const = 42;
int global_matrix[3][5];
