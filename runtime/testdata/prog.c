/* A tiny program whose core the runtime tests read. It prints the address,
 * size and bytes of each object it wants checked (the oracle), then aborts
 * so that qemu-user (or the kernel) writes a core.
 * Built by the tests: $CC -static -O0 -g -o prog prog.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
	uint32_t a;
	uint64_t b;
	char name[16];
	struct rec *next;
};

struct rec second = {7, 0x1122334455667788ULL, "second", 0};
struct rec first = {0xdeadbeef, 0x0102030405060708ULL, "first", &second};
uint64_t counter = 42;
char big[3 * 4096 + 100];

static void show(const char *name, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;
	printf("%s %p %zu ", name, p, n);
	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

int main(void)
{
	char local[64];
	unsigned char *heap;
	size_t i;

	for (i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7 + 3);
	heap = malloc(10000);
	for (i = 0; i < 10000; i++)
		heap[i] = (unsigned char)(i ^ (i >> 8));
	snprintf(local, sizeof local, "stack %p", (void *)local);
	counter = (uint64_t)(uintptr_t)heap;
	show("first", &first, sizeof first);
	show("second", &second, sizeof second);
	show("counter", &counter, sizeof counter);
	show("big", big, sizeof big);
	show("heap", heap, 10000);
	show("local", local, sizeof local);
	fflush(stdout);
	abort();
}
