/* Issue #14 ordering corpus runner (liburing). gen_corpus.ts builds and runs it:
 *   deno run -A tests/differential/ordering/gen_corpus.ts [--passes N] [--merge yes] ...
 * (options in its header). By hand, e.g. to check whether a program is racy:
 *   gcc -O2 -Wall -o /tmp/h14_ordering_runner tests/differential/ordering/ordering_runner.c -luring
 *   echo 'w0.8 r2.1' | /tmp/h14_ordering_runner /tmp/x 200 | cut -f3 | sort | uniq -c
 * (/tmp is ext4 and /dev/shm tmpfs on the CI machine; DIR must exist).
 * Usage: ordering_runner DIR PASSES < programs.txt > outcomes.txt
 * A program is one line of tokens: wO.L (write L KiB at O KiB, bytes 'A'+sqe index),
 * rO.L (read L KiB at O KiB), F (fsync), A (fallocate 0..16 KiB, mode 0), N (nop); a suffix
 * '!' sets IOSQE_ASYNC, '+' IOSQE_IO_LINK. Every run starts from a fresh 4096-byte file of 'a'
 * (O_TRUNC, write, fsync); all SQEs go in one io_uring_submit. Pass-major: every program once
 * per pass. Output: one line per run, "P<TAB>PROGRAM_INDEX<TAB>OUTCOME", OUTCOME =
 * CQEs in posting order "i:res" joined by ',', then '|' and for each read "i=" and its bytes
 * run-length encoded (c*n joined by '.'), then '|' the file's final contents the same way. */
#define _GNU_SOURCE
#include <liburing.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXP 4096
#define MAXS 8
static char *progs[MAXP];
static int nprog;
static char bufs[MAXS][16384];
static char filebuf[65536];

static void rle(char *out, const char *p, int n) {
  int k = 0;
  out[0] = 0;
  for (int i = 0; i < n;) {
    int j = i;
    while (j < n && p[j] == p[i]) j++;
    k += sprintf(out + k, "%s%c*%d", k ? "." : "", p[i] ? p[i] : '0', j - i);
    i = j;
  }
}

static void run(struct io_uring *ring, const char *dir, const char *prog, char *out) {
  char path[512];
  snprintf(path, sizeof path, "%s/h14_corpus_%d", dir, getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("open"); exit(1); }
  memset(filebuf, 'a', 4096);
  if (write(fd, filebuf, 4096) != 4096) exit(1);
  fsync(fd);
  char ops[MAXS]; int n = 0;
  char tmp[256]; strncpy(tmp, prog, sizeof tmp - 1); tmp[sizeof tmp - 1] = 0;
  for (char *t = strtok(tmp, " \n"); t; t = strtok(NULL, " \n")) {
    struct io_uring_sqe *s = io_uring_get_sqe(ring);
    char op = t[0]; int o = 0, l = 0; const char *q = t + 1;
    if (op == 'w' || op == 'r') { o = strtol(q, (char **)&q, 10); q++; l = strtol(q, (char **)&q, 10); }
    int fl = 0;
    for (; *q; q++) { if (*q == '!') fl |= IOSQE_ASYNC; if (*q == '+') fl |= IOSQE_IO_LINK; }
    ops[n] = op;
    memset(bufs[n], op == 'w' ? 'A' + n : 0, sizeof bufs[n]);
    switch (op) {
    case 'w': io_uring_prep_write(s, fd, bufs[n], l * 1024, o * 1024); break;
    case 'r': io_uring_prep_read(s, fd, bufs[n], l * 1024, o * 1024); break;
    case 'F': io_uring_prep_fsync(s, fd, 0); break;
    case 'A': io_uring_prep_fallocate(s, fd, 0, 0, 16384); break;
    default: io_uring_prep_nop(s); break;
    }
    s->user_data = n; s->flags |= fl; n++;
  }
  io_uring_submit(ring);
  int res[MAXS]; int k = 0; out[0] = 0;
  for (int i = 0; i < n; i++) {
    struct io_uring_cqe *c;
    if (io_uring_wait_cqe(ring, &c)) { perror("wait"); exit(1); }
    int ud = (int)c->user_data; res[ud] = c->res;
    k += sprintf(out + k, "%s%d:%d", i ? "," : "", ud, c->res);
    io_uring_cqe_seen(ring, c);
  }
  k += sprintf(out + k, "|");
  char r[4096];
  int first = 1;
  for (int i = 0; i < n; i++) {
    if (ops[i] != 'r') continue;
    rle(r, bufs[i], res[i] > 0 ? res[i] : 0);
    k += sprintf(out + k, "%s%d=%s", first ? "" : ";", i, r);
    first = 0;
  }
  int sz = pread(fd, filebuf, sizeof filebuf, 0);
  rle(r, filebuf, sz > 0 ? sz : 0);
  sprintf(out + k, "|%s", r);
  close(fd);
  unlink(path);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: ordering_runner DIR PASSES < programs\n"); return 2; }
  int passes = atoi(argv[2]);
  char line[512];
  while (nprog < MAXP && fgets(line, sizeof line, stdin)) progs[nprog++] = strdup(line);
  struct io_uring ring;
  if (io_uring_queue_init(64, &ring, 0)) { perror("queue_init"); return 1; }
  static char out[16384];
  for (int p = 0; p < passes; p++)
    for (int i = 0; i < nprog; i++) {
      run(&ring, argv[1], progs[i], out);
      printf("%d\t%d\t%s\n", p, i, out);
    }
  io_uring_queue_exit(&ring);
  return 0;
}
