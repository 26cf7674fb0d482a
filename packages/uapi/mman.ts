/**
 * `mmap(2)` constants (`<sys/mman.h>`, `asm-generic/mman-common.h`) and the x86_64 syscall
 * numbers the native kernel calls through `syscall(2)` (`<asm/unistd_64.h>`).
 *
 * @module
 */

/** `PROT_READ`. */
export const PROT_READ = 0x1;
/** `PROT_WRITE`. */
export const PROT_WRITE = 0x2;
/** `MAP_SHARED`. */
export const MAP_SHARED = 0x01;
/** `MAP_PRIVATE`. */
export const MAP_PRIVATE = 0x02;
/** `MAP_ANONYMOUS` (x86_64). */
export const MAP_ANONYMOUS = 0x20;
/** `MAP_POPULATE` (x86_64). */
export const MAP_POPULATE = 0x8000;
/** `MAP_HUGETLB` (x86_64). */
export const MAP_HUGETLB = 0x40000;

/** `__NR_mmap` on x86_64. */
export const SYS_mmap = 9;
/** `__NR_munmap` on x86_64. */
export const SYS_munmap = 11;
