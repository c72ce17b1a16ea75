/* /bin/bench-glibc: the Linux anchor's getppid bench, copied unchanged (below this comment)
 * from /work/shared/linux-anchor/bench.c (the file its run.sh builds with
 * `aarch64-linux-gnu-gcc -static`), so the same loop runs on both kernels.
 * Usage: bench-glibc [N [LABEL]]; prints "RESULT LABEL n=N ticks=T ns_per_iter=X". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
static inline unsigned long cntvct(void){unsigned long v; asm volatile("isb; mrs %0, cntvct_el0":"=r"(v)); return v;}
static inline unsigned long cntfrq(void){unsigned long v; asm volatile("mrs %0, cntfrq_el0":"=r"(v)); return v;}
int main(int argc,char**argv){
  long n = argc>1?atol(argv[1]):100000;
  const char*label=argc>2?argv[2]:"run";
  for(int w=0;w<1000;w++) syscall(SYS_getppid);
  unsigned long t0=cntvct();
  for(long i=0;i<n;i++) syscall(SYS_getppid);
  unsigned long t1=cntvct();
  double ns_per_tick = 1e9/(double)cntfrq();
  printf("RESULT %s n=%ld ticks=%lu ns_per_iter=%.1f\n", label, n, t1-t0, (t1-t0)*ns_per_tick/n);
  return 0;
}
