/*
 * kvmgen-marker: a guest process with a distinctive name, argv and
 * environment, for the fixture pipeline (scripts/fixtures.sh). It locks its
 * memory (so its argv/env pages stay resident when the guest swaps) and
 * sleeps forever. Copies of it are installed as kvmgen-marker-1..3 so that
 * their comm is distinctive.
 *
 * KVMGEN_MODE selects extra shapes of process for the truth:
 *   threads  start extra threads: KVMGEN_THREADS of them (default two, a
 *            thread group of three), each on a 64 KiB stack
 *   cred     the credentials and job control the process filters select
 *            by: a session of its own with /dev/ttyS1 as its controlling
 *            terminal, real/effective UID 1000/1001; and a child in a
 *            process group of its own (same session and terminal), real/
 *            effective UID 2000/2001
 * The memory is locked unless KVMGEN_NOLOCK is set (the many-task guest).
 *   zombie   fork a child that exits at once and is never reaped (state Z)
 *   spin     pin itself to CPU KVMGEN_CPU and spin in user mode forever, so
 *            that this task is the one running on that CPU when the guest
 *            is dumped (the per-CPU truth); it prints "CPU PID" on stdout
 *            once sched_getcpu() confirms the pinning
 *
 * Built by scripts/fixtures.sh: gcc -static -O2 -pthread -o kvmgen-marker marker.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
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
		const char *n = getenv("KVMGEN_THREADS");
		int nthreads = n != NULL ? atoi(n) : 2;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		for (int i = 0; i < nthreads; i++) {
			pthread_t t;
			if (pthread_create(&t, &attr, sleeper, NULL) != 0) {
				perror("pthread_create");
				return 1;
			}
		}
	}
	if (mode != NULL && strcmp(mode, "spin") == 0) {
		const char *c = getenv("KVMGEN_CPU");
		int cpu = c != NULL ? atoi(c) : 0;
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0) {
			perror("sched_setaffinity");
			return 1;
		}
		while (sched_getcpu() != cpu)
			sched_yield();
		printf("%d %d\n", cpu, (int)getpid());
		fflush(stdout);
		for (;;)
			__asm__ volatile("" ::: "memory");
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
	if (mode != NULL && strcmp(mode, "cred") == 0) {
		if (setsid() < 0) {
			perror("setsid");
			return 1;
		}
		/* A session leader without a terminal acquires the first it opens. */
		if (open("/dev/ttyS1", O_RDWR) < 0) {
			perror("/dev/ttyS1");
			return 1;
		}
		pid_t c = fork();
		if (c < 0) {
			perror("fork");
			return 1;
		}
		uid_t ruid = 1000, euid = 1001;
		if (c == 0) {
			if (setpgid(0, 0) != 0) {
				perror("setpgid");
				_exit(1);
			}
			ruid = 2000, euid = 2001;
		}
		/* Lock while still privileged (CAP_IPC_LOCK), then drop. */
		if (mlockall(MCL_CURRENT) != 0) {
			perror("mlockall");
			return 1;
		}
		if (setresuid(ruid, euid, euid) != 0) {
			perror("setresuid");
			return 1;
		}
		for (;;)
			pause();
	}
	if (getenv("KVMGEN_NOLOCK") == NULL && mlockall(MCL_CURRENT) != 0) {
		perror("mlockall");
		return 1;
	}
	for (;;)
		pause();
}
