/* /bin/hello-glibc: a plain glibc hello, built by xtask with `aarch64-linux-gnu-gcc -static -O2`
 * (tests/linux-anchor/hello.c, the same program the Linux anchor runs). */
#include <stdio.h>
int main(void){ printf("hello, world\n"); return 0; }
