/* Measures inline vs io-wq completion and CQE order on the live kernel (issue #14). Build: gcc -O2 -o /tmp/ordering_probe tests/differential/ordering_probe.c -luring; run: /tmp/ordering_probe 300. Edit progs[] for other programs. See ORDERING.md. */
#define _GNU_SOURCE
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <sys/stat.h>
static char buf[8192];
/* op codes: W write(extend), R read, F fsync, A fallocate, N nop */
static void prep(struct io_uring_sqe *s, char op, int fd, int ud, int flags){
  switch(op){
  case 'W': io_uring_prep_write(s, fd, buf, 4096, 4096); break;
  case 'w': io_uring_prep_write(s, fd, buf, 4096, 0); break;
  case 'R': io_uring_prep_read(s, fd, buf+4096, 8192-4096, 0); break; /* read 4096 at 0 */
  case 'r': io_uring_prep_read(s, fd, buf+4096, 4096, 4096); break; /* read the extended page */
  case 'F': io_uring_prep_fsync(s, fd, 0); break;
  case 'A': io_uring_prep_fallocate(s, fd, 0, 0, 16384); break;
  case 'N': io_uring_prep_nop(s); break;
  }
  s->user_data = ud; s->flags |= flags;
}
/* prog: string of ops; uppercase suffix markers: '+' link to next, '!' IOSQE_ASYNC (after op) */
static void run(const char *dir, const char *prog, int iters){
  char path[256]; snprintf(path, sizeof path, "%s/h14_%d", dir, getpid());
  struct io_uring ring; io_uring_queue_init(64, &ring, 0);
  int inl[16]={0}; char orders[64][32]; int ocount[64]={0}; int no=0; int res_sum[16][2]; memset(res_sum,0,sizeof res_sum);
  for(int it=0; it<iters; it++){
    int fd=open(path,O_RDWR|O_CREAT|O_TRUNC,0644); memset(buf,'a',4096); if(write(fd,buf,4096)!=4096) exit(1); fsync(fd);
    int n=0; for(const char*p=prog;*p;p++){ if(*p=='+'||*p=='!') continue; int fl=0;
      if(p[1]=='!'||(p[1]&&p[2]=='!'&&p[1]=='+')) fl|=IOSQE_ASYNC; if(p[1]=='+'||(p[1]=='!'&&p[2]=='+')) fl|=IOSQE_IO_LINK;
      prep(io_uring_get_sqe(&ring), *p, fd, n, fl); n++; }
    io_uring_submit(&ring);
    /* immediately-ready CQEs */
    unsigned ready = io_uring_cq_ready(&ring);
    char ord[32]; int k=0; struct io_uring_cqe *c;
    for(int i=0;i<n;i++){ io_uring_wait_cqe(&ring,&c); int ud=c->user_data; if((unsigned)i<ready) inl[ud]++; ord[k++]='0'+ud; if(c->res>0) res_sum[ud][0]+=c->res; else res_sum[ud][1]=c->res; io_uring_cqe_seen(&ring,c);} ord[k]=0;
    int j; for(j=0;j<no;j++) if(!strcmp(orders[j],ord)) break; if(j==no){strcpy(orders[no++],ord);} ocount[j]++;
    close(fd);
  }
  printf("%-6s %-14s inline-ready:", strstr(dir,"shm")?"tmpfs":"ext4", prog);
  int n=0; for(const char*p=prog;*p;p++){ if(*p=='+'||*p=='!') continue; printf(" %c%d=%d", *p, n, inl[n]); n++; }
  printf(" | orders:"); for(int j=0;j<no;j++) printf(" %s x%d", orders[j], ocount[j]);
  printf(" | meanres:"); for(int i=0;i<n;i++) printf(" %d", res_sum[i][0]/iters); printf("\n");
  io_uring_queue_exit(&ring); unlink(path);
}
int main(int argc,char**argv){ int iters=atoi(argv[1]);
  const char *progs[]={"RN","rN","wN","WN","FN","AN","N!N","R!N","w!N","W+rN","F+NN","WwN","W!N!N",NULL};
  const char *dirs[]={"/tmp","/dev/shm"};
  for(int d=0;d<2;d++) for(int i=0;progs[i];i++) run(dirs[d],progs[i],iters);
}
