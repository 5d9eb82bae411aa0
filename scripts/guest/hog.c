/*
 * kvmgen-hog: allocates and fills MB mebibytes (argv[1]) of anonymous
 * memory, so that a guest with little RAM pushes pages into its swap area,
 * then creates the file argv[2] (if given) and sleeps forever, keeping the
 * memory (and so the swap use) alive. For scripts/fixtures.sh.
 *
 * Built by scripts/fixtures.sh: gcc -static -O2 -o kvmgen-hog hog.c
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: kvmgen-hog MB [READYFILE]\n");
		return 2;
	}
	long mb = strtol(argv[1], NULL, 10);
	if (mb <= 0 || mb > 1 << 20) {
		fprintf(stderr, "kvmgen-hog: bad size %s\n", argv[1]);
		return 2;
	}
	for (long i = 0; i < mb; i++) {
		unsigned char *p = malloc(1 << 20);
		if (p == NULL) {
			fprintf(stderr, "kvmgen-hog: out of memory after %ld MiB\n", i);
			break;
		}
		/* Non-zero, page-distinct content. */
		for (long off = 0; off < 1 << 20; off += 4096)
			memset(p + off, (int)((i + off / 4096) % 251) + 1, 4096);
	}
	if (argc > 2) {
		int fd = open(argv[2], O_CREAT | O_WRONLY, 0644);
		if (fd >= 0)
			close(fd);
	}
	for (;;)
		pause();
}
