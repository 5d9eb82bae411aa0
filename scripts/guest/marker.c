/*
 * kvmgen-marker: a guest process with a distinctive name, argv and
 * environment, for the fixture pipeline (scripts/fixtures.sh). It locks its
 * memory (so its argv/env pages stay resident when the guest swaps) and
 * sleeps forever. Copies of it are installed as kvmgen-marker-1..3 so that
 * their comm is distinctive.
 *
 * KVMGEN_MODE selects extra shapes of process for the truth:
 *   threads  start two extra threads (a thread group of three)
 *   zombie   fork a child that exits at once and is never reaped (state Z)
 *
 * Built by scripts/fixtures.sh: gcc -static -O2 -pthread -o kvmgen-marker marker.c
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	const char *mode = getenv("KVMGEN_MODE");
	if (mode != NULL && strcmp(mode, "threads") == 0) {
		for (int i = 0; i < 2; i++) {
			pthread_t t;
			if (pthread_create(&t, NULL, sleeper, NULL) != 0) {
				perror("pthread_create");
				return 1;
			}
		}
	}
	if (mode != NULL && strcmp(mode, "zombie") == 0) {
		pid_t c = fork();
		if (c < 0) {
			perror("fork");
			return 1;
		}
		if (c == 0)
			_exit(7);
	}
	if (mlockall(MCL_CURRENT) != 0) {
		perror("mlockall");
		return 1;
	}
	for (;;)
		pause();
}
