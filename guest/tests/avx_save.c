/*
 * AVX and AVX-512 register state across SAVE(): where the CPU and the OS (or
 * the VMM) enable them, loads distinct patterns into ymm0..15 (AVX) or
 * zmm0..31 and k0..7 (AVX-512), issues the SAVE syscall in the same asm block,
 * and compares what comes back. These registers live in the XSAVE area beyond
 * the legacy SSE part, so they survive only if the whole extended state does.
 * Prints "avx ok" / "avx512 ok" (or "... not available"), then "save=native"
 * or "save=vm". Exit status 0 iff nothing differed.
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scratchvm.h"

#define STR_(x) #x
#define STR(x) STR_(x)

struct vecbuf {
    uint8_t in[32][64];   /* offset 0 */
    uint8_t out[32][64];  /* offset 2048 */
    uint64_t kin[8];      /* offset 4096 */
    uint64_t kout[8];     /* offset 4160 */
    int64_t ret;          /* offset 4224 */
};

_Static_assert(__builtin_offsetof(struct vecbuf, out) == 2048, "out offset");
_Static_assert(__builtin_offsetof(struct vecbuf, kin) == 4096, "kin offset");
_Static_assert(__builtin_offsetof(struct vecbuf, kout) == 4160, "kout offset");
_Static_assert(__builtin_offsetof(struct vecbuf, ret) == 4224, "ret offset");

void ymm_roundtrip(struct vecbuf *b);
void zmm_roundtrip(struct vecbuf *b);

/* rdi (the buffer) is callee-clobbered by nothing here: syscall preserves it. */
__asm__(
    ".pushsection .text\n"
    ".globl ymm_roundtrip\n"
    ".type ymm_roundtrip, @function\n"
    "ymm_roundtrip:\n"
    "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  vmovdqu \\n*64(%rdi), %ymm\\n\n"
    "  .endr\n"
    "  mov $" STR(SCRATCHVM_SYS_SAVE) ", %eax\n"
    "  syscall\n"
    "  mov %rax, 4224(%rdi)\n"
    "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  vmovdqu %ymm\\n, 2048+\\n*64(%rdi)\n"
    "  .endr\n"
    "  vzeroupper\n"
    "  ret\n"
    ".size ymm_roundtrip, .-ymm_roundtrip\n"
    ".globl zmm_roundtrip\n"
    ".type zmm_roundtrip, @function\n"
    "zmm_roundtrip:\n"
    "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "  vmovdqu64 \\n*64(%rdi), %zmm\\n\n"
    "  .endr\n"
    "  .irp n,0,1,2,3,4,5,6,7\n"
    "  kmovq 4096+\\n*8(%rdi), %k\\n\n"
    "  .endr\n"
    "  mov $" STR(SCRATCHVM_SYS_SAVE) ", %eax\n"
    "  syscall\n"
    "  mov %rax, 4224(%rdi)\n"
    "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    "  vmovdqu64 %zmm\\n, 2048+\\n*64(%rdi)\n"
    "  .endr\n"
    "  .irp n,0,1,2,3,4,5,6,7\n"
    "  kmovq %k\\n, 4160+\\n*8(%rdi)\n"
    "  .endr\n"
    "  vzeroupper\n"
    "  ret\n"
    ".size zmm_roundtrip, .-zmm_roundtrip\n"
    ".popsection\n");

static uint64_t xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int compare(const char *what, struct vecbuf *b, int regs, int bytes, int kregs)
{
    int bad = 0;
    for (int i = 0; i < regs; i++) {
        if (memcmp(b->out[i], b->in[i], bytes) != 0) {
            printf("%s%d differs\n", what, i);
            bad = 1;
        }
    }
    for (int i = 0; i < kregs; i++) {
        if (b->kout[i] != b->kin[i]) {
            printf("k%d differs: got %016llx want %016llx\n", i, (unsigned long long)b->kout[i],
                   (unsigned long long)b->kin[i]);
            bad = 1;
        }
    }
    return bad;
}

int main(void)
{
    static struct vecbuf b;
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 64; j++)
            b.in[i][j] = (uint8_t)(0x3c ^ (i * 7) ^ (j * 13) ^ (j << 5));
    for (int i = 0; i < 8; i++)
        b.kin[i] = 0xfedcba9876543210ULL ^ ((uint64_t)(i + 1) * 0x0101010101010101ULL);

    unsigned a, bx, c, d;
    int osxsave = __get_cpuid(1, &a, &bx, &c, &d) && (c & bit_OSXSAVE);
    int avx = osxsave && (c & bit_AVX) && (xcr0() & 0x6) == 0x6;
    int avx512 = avx && __get_cpuid_count(7, 0, &a, &bx, &c, &d) && (bx & bit_AVX512F) && (xcr0() & 0xe6) == 0xe6;

    int bad = 0;
    long ret = -38;
    if (avx512) {
        zmm_roundtrip(&b);
        ret = b.ret;
        bad |= compare("zmm", &b, 32, 64, 8);
        printf("avx512 %s\n", bad ? "FAILED" : "ok");
    } else if (avx) {
        ymm_roundtrip(&b);
        ret = b.ret;
        bad |= compare("ymm", &b, 16, 32, 0);
        printf("avx %s\n", bad ? "FAILED" : "ok");
    } else {
        printf("avx not available\n");
    }
    printf("save=%s\n", ret == -38 ? "native" : "vm");
    return bad;
}
