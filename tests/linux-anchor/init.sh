#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
[ -e /dev/null ] || mknod /dev/null c 1 3
sleep 3
/bin/hello-min
for i in 1 2; do bench 200000 baseline; done
forkexec 2000 /bin/hello-min
forkexec 2000 /bin/hello-min
forkexec 500 /bin/hello-glibc
poweroff -f
