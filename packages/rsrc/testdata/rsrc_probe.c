#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
static int ringfd;
static int reg(unsigned op, void *arg, unsigned nr){ int r = syscall(__NR_io_uring_register, ringfd, op, arg, nr); return r < 0 ? -errno_val() : r; }
#include <errno.h>
int errno_val(void){ return errno; }
static struct io_uring ring;
static int rdfixed(int fd, void *addr, unsigned len, int idx, int fixedfile){
  struct io_uring_sqe *s = io_uring_get_sqe(&ring);
  io_uring_prep_read_fixed(s, fd, addr, len, 0, idx);
  if (fixedfile) s->flags |= IOSQE_FIXED_FILE;
  io_uring_submit(&ring); struct io_uring_cqe *c; io_uring_wait_cqe(&ring,&c); int r=c->res; io_uring_cqe_seen(&ring,c); return r;
}
static int rd(int fd, void *addr, unsigned len){
  struct io_uring_sqe *s = io_uring_get_sqe(&ring);
  io_uring_prep_read(s, fd, addr, len, 0); s->flags |= IOSQE_FIXED_FILE;
  io_uring_submit(&ring); struct io_uring_cqe *c; io_uring_wait_cqe(&ring,&c); int r=c->res; io_uring_cqe_seen(&ring,c); return r;
}
#define P(name, expr) printf("%-50s %d\n", name, (expr))
int main(void){
  io_uring_queue_init(8, &ring, 0); ringfd = ring.ring_fd;
  static char a[8192] __attribute__((aligned(4096))), b[8192] __attribute__((aligned(4096)));
  struct iovec iv[2] = {{a, 8192},{b, 8192}};
  P("unregister buffers none", reg(IORING_UNREGISTER_BUFFERS, NULL, 0));
  P("update buffers none", ({struct io_uring_rsrc_update2 u={0}; u.offset=0; u.data=(unsigned long)iv; u.nr=1; reg(IORING_REGISTER_BUFFERS_UPDATE,&u,sizeof u);}));
  P("register buffers nr 0", reg(IORING_REGISTER_BUFFERS, iv, 0));
  struct iovec *many = calloc(16385, sizeof *many); for(int i=0;i<16385;i++){many[i].iov_base=a; many[i].iov_len=4096;}
  P("register buffers nr 16385", reg(IORING_REGISTER_BUFFERS, many, 16385));
  P("register buffers nr 16384", reg(IORING_REGISTER_BUFFERS, many, 16384));
  P("unregister", reg(IORING_UNREGISTER_BUFFERS, NULL, 0));
  struct iovec z[2] = {{a, 8192},{b, 0}};
  P("register [ok, zero-len non-null]", reg(IORING_REGISTER_BUFFERS, z, 2));
  struct iovec nz[2] = {{a, 8192},{NULL, 0}};
  P("register [ok, NULL 0] (sparse in dense)", reg(IORING_REGISTER_BUFFERS, nz, 2));
  P("  read_fixed idx1 (empty)", rdfixed(0, a, 1, 1, 0));
  P("unregister", reg(IORING_UNREGISTER_BUFFERS, NULL, 0));
  struct iovec nl[1] = {{NULL, 4096}};
  P("register [NULL 4096]", reg(IORING_REGISTER_BUFFERS, nl, 1));
  char *big = malloc((1UL<<30)+4096);
  struct iovec bg[1] = {{big, (1UL<<30)+1}};
  P("register [1G+1]", reg(IORING_REGISTER_BUFFERS, bg, 1));
  struct iovec bg2[1] = {{big, (1UL<<30)}};
  P("register [1G]", reg(IORING_REGISTER_BUFFERS, bg2, 1));
  P("unregister", reg(IORING_UNREGISTER_BUFFERS, NULL, 0));
  P("register [a,b]", reg(IORING_REGISTER_BUFFERS, iv, 2));
  P("register again", reg(IORING_REGISTER_BUFFERS, iv, 2));
  P("register sparse while registered", ({struct io_uring_rsrc_register r={0}; r.nr=4; r.flags=IORING_RSRC_REGISTER_SPARSE; reg(IORING_REGISTER_BUFFERS2,&r,sizeof r);}));
  int fd = open("/etc/hostname", O_RDONLY);
  P("read_fixed ok", rdfixed(fd, a, 4, 0, 0));
  P("read_fixed idx 2 oob", rdfixed(fd, a, 4, 2, 0));
  P("read_fixed idx 100 oob", rdfixed(fd, a, 4, 100, 0));
  P("read_fixed addr end-1 len 1 (fine)", rdfixed(fd, a+8191, 1, 0, 0));
  P("read_fixed addr end len 0", rdfixed(fd, a+8192, 0, 0, 0));
  P("read_fixed addr end len 1", rdfixed(fd, a+8192, 1, 0, 0));
  P("read_fixed addr before", rdfixed(fd, a-1, 1, 0, 0));
  P("read_fixed other buf addr", rdfixed(fd, b, 1, 0, 0));
  struct io_uring_rsrc_update2 u={0};
  u.offset=1; u.data=(unsigned long)iv; u.nr=2;
  P("update off1 nr2 (oob)", reg(IORING_REGISTER_BUFFERS_UPDATE,&u,sizeof u));
  u.offset=0; u.nr=0;
  P("update nr0", reg(IORING_REGISTER_BUFFERS_UPDATE,&u,sizeof u));
  struct iovec up[2] = {{b, 100},{NULL,0}};
  u.offset=0; u.data=(unsigned long)up; u.nr=2;
  P("update [b100, NULL0] -> count", reg(IORING_REGISTER_BUFFERS_UPDATE,&u,sizeof u));
  P("  read_fixed idx1 cleared", rdfixed(fd, b, 1, 1, 0));
  P("  read_fixed idx0 now b", rdfixed(fd, b, 4, 0, 0));
  struct iovec up2[2] = {{a, 100},{a,0}};
  u.data=(unsigned long)up2; u.nr=2;
  P("update [a100, a0] -> partial", reg(IORING_REGISTER_BUFFERS_UPDATE,&u,sizeof u));
  struct iovec up3[1] = {{a,0}};
  u.data=(unsigned long)up3; u.nr=1;
  P("update [a0] -> err", reg(IORING_REGISTER_BUFFERS_UPDATE,&u,sizeof u));
  P("unregister", reg(IORING_UNREGISTER_BUFFERS, NULL, 0));
  P("sparse nr 0", ({struct io_uring_rsrc_register r={0}; r.nr=0; r.flags=IORING_RSRC_REGISTER_SPARSE; reg(IORING_REGISTER_BUFFERS2,&r,sizeof r);}));
  P("sparse nr 16385", ({struct io_uring_rsrc_register r={0}; r.nr=16385; r.flags=IORING_RSRC_REGISTER_SPARSE; reg(IORING_REGISTER_BUFFERS2,&r,sizeof r);}));
  P("sparse nr 4", ({struct io_uring_rsrc_register r={0}; r.nr=4; r.flags=IORING_RSRC_REGISTER_SPARSE; reg(IORING_REGISTER_BUFFERS2,&r,sizeof r);}));
  P("  read_fixed empty sparse", rdfixed(fd, a, 1, 0, 0));
  P("unregister", reg(IORING_UNREGISTER_BUFFERS, NULL, 0));
  /* files */
  int fds[3] = {fd, -1, fd};
  P("unregister files none", reg(IORING_UNREGISTER_FILES, NULL, 0));
  P("files update none", ({struct io_uring_files_update fu={0}; fu.fds=(unsigned long)fds; reg(IORING_REGISTER_FILES_UPDATE,&fu,1);}));
  P("register files nr 0", reg(IORING_REGISTER_FILES, fds, 0));
  int badfds[2] = {fd, 999};
  P("register files [fd, 999]", reg(IORING_REGISTER_FILES, badfds, 2));
  int skipfds[2] = {fd, -2};
  P("register files [fd, -2]", reg(IORING_REGISTER_FILES, skipfds, 2));
  int ringself[1] = {ringfd};
  P("register files [ringfd]", reg(IORING_REGISTER_FILES, ringself, 1));
  int *manyf = malloc(sizeof(int)*(20001)); for (int i=0;i<20001;i++) manyf[i]=-1;
  P("register files 20001 (rlimit 20000)", reg(IORING_REGISTER_FILES, manyf, 20001));
  P("register files 20000 (rlimit)", reg(IORING_REGISTER_FILES, manyf, 20000));
  P("unregister files", reg(IORING_UNREGISTER_FILES, NULL, 0));
  P("register files [fd,-1,fd]", reg(IORING_REGISTER_FILES, fds, 3));
  P("register files again", reg(IORING_REGISTER_FILES, fds, 3));
  P("  read fixed file 0", rd(0, a, 4));
  P("  read fixed file 1 (empty)", rd(1, a, 4));
  P("  read fixed file 3 (oob)", rd(3, a, 4));
  P("  read fixed file -1", rd(-1, a, 4));
  int ufds[3] = {-2, fd, -1};
  P("files update [-2, fd, -1] off0", ({struct io_uring_files_update fu={0}; fu.offset=0; fu.fds=(unsigned long)ufds; reg(IORING_REGISTER_FILES_UPDATE,&fu,3);}));
  P("  read fixed file 0 (skipped, still fd)", rd(0, a, 4));
  P("  read fixed file 1 (now fd)", rd(1, a, 4));
  P("  read fixed file 2 (cleared)", rd(2, a, 4));
  P("files update off2 nr2 oob", ({struct io_uring_files_update fu={0}; fu.offset=2; fu.fds=(unsigned long)ufds; reg(IORING_REGISTER_FILES_UPDATE,&fu,2);}));
  P("files update nr0", ({struct io_uring_files_update fu={0}; fu.offset=0; fu.fds=(unsigned long)ufds; reg(IORING_REGISTER_FILES_UPDATE,&fu,0);}));
  int pf[2] = {fd, 999};
  P("files update [fd, 999] partial", ({struct io_uring_files_update fu={0}; fu.offset=0; fu.fds=(unsigned long)pf; reg(IORING_REGISTER_FILES_UPDATE,&fu,2);}));
  int pf2[1] = {999};
  P("files update [999]", ({struct io_uring_files_update fu={0}; fu.offset=0; fu.fds=(unsigned long)pf2; reg(IORING_REGISTER_FILES_UPDATE,&fu,1);}));
  int pf3[1] = {-3};
  P("files update [-3]", ({struct io_uring_files_update fu={0}; fu.offset=0; fu.fds=(unsigned long)pf3; reg(IORING_REGISTER_FILES_UPDATE,&fu,1);}));
  P("files update [ringfd]", ({struct io_uring_files_update fu={0}; fu.offset=0; fu.fds=(unsigned long)ringself; reg(IORING_REGISTER_FILES_UPDATE,&fu,1);}));
  P("unregister files", reg(IORING_UNREGISTER_FILES, NULL, 0));
  P("files sparse nr 0", ({struct io_uring_rsrc_register r={0}; r.nr=0; r.flags=IORING_RSRC_REGISTER_SPARSE; reg(IORING_REGISTER_FILES2,&r,sizeof r);}));
  P("files sparse nr 20001", ({struct io_uring_rsrc_register r={0}; r.nr=20001; r.flags=IORING_RSRC_REGISTER_SPARSE; reg(IORING_REGISTER_FILES2,&r,sizeof r);}));
  P("files sparse nr (1<<20)+1", ({struct io_uring_rsrc_register r={0}; r.nr=(1<<20)+1; r.flags=IORING_RSRC_REGISTER_SPARSE; reg(IORING_REGISTER_FILES2,&r,sizeof r);}));
  P("files sparse nr 4", ({struct io_uring_rsrc_register r={0}; r.nr=4; r.flags=IORING_RSRC_REGISTER_SPARSE; reg(IORING_REGISTER_FILES2,&r,sizeof r);}));
  P("  read fixed file 0 (empty sparse)", rd(0, a, 4));
  P("unregister files", reg(IORING_UNREGISTER_FILES, NULL, 0));
  return 0;
}
