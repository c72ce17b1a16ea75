/* fork + execve(/bin/hello-min) + exit + wait4, N times; instructions per iteration under -icount shift=0. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/wait.h>
static inline unsigned long cntvct(void){unsigned long v; asm volatile("isb; mrs %0, cntvct_el0":"=r"(v)); return v;}
static inline unsigned long cntfrq(void){unsigned long v; asm volatile("mrs %0, cntfrq_el0":"=r"(v)); return v;}
static void once(const char *prog, int devnull){
  pid_t pid = fork();
  if (pid == 0) { dup2(devnull, 1); char *argv[] = {(char*)prog, 0}; char *envp[] = {0}; execve(prog, argv, envp); _exit(127); }
  int st; waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { printf("FAIL status %#x\n", st); exit(1); }
}
int main(int argc,char**argv){
  long n = argc>1?atol(argv[1]):1000;
  const char*prog=argc>2?argv[2]:"/bin/hello-min";
  int devnull = open("/dev/null", O_WRONLY);
  for(int w=0;w<20;w++) once(prog, devnull);
  unsigned long t0=cntvct();
  for(long i=0;i<n;i++) once(prog, devnull);
  unsigned long t1=cntvct();
  double ns_per_tick = 1e9/(double)cntfrq();
  printf("RESULT forkexec %s n=%ld ticks=%lu ns_per_iter=%.1f\n", prog, n, t1-t0, (t1-t0)*ns_per_tick/n);
  return 0;
}
