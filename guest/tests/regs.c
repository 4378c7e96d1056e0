/*
 * Register state across SAVE(): loads distinct 64-bit patterns into the
 * callee-saved GPRs, the syscall argument registers and xmm0..xmm15, issues the
 * SAVE syscall in the same asm block, and stores them all back. Linux preserves
 * every register except rax, rcx and r11 across syscall; a resumed VM must too.
 *
 * Only SSE2 instructions (movdqu) are used so it runs on any x86-64 CPU.
 * Prints "regs ok" or one line per differing register, then "save=native"
 * (SAVE returned -ENOSYS) or "save=vm". Exit status 0 iff regs ok.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scratchvm.h"

#define NGPR 12
#define NXMM 16

struct regbuf {
    uint64_t in_gpr[NGPR];  /* offset 0 */
    uint64_t out_gpr[NGPR]; /* offset 96 */
    int64_t ret;            /* offset 192 */
    uint64_t pad;
    uint8_t in_xmm[NXMM][16];  /* offset 208 */
    uint8_t out_xmm[NXMM][16]; /* offset 464 */
};

/* The asm below hard-codes these offsets. */
_Static_assert(offsetof(struct regbuf, out_gpr) == 96, "out_gpr offset");
_Static_assert(offsetof(struct regbuf, ret) == 192, "ret offset");
_Static_assert(offsetof(struct regbuf, in_xmm) == 208, "in_xmm offset");
_Static_assert(offsetof(struct regbuf, out_xmm) == 464, "out_xmm offset");

/* Same order as in_gpr/out_gpr. */
static const char *const gpr_names[NGPR] = {"rbx", "rbp", "r12", "r13", "r14", "r15",
                                            "rdi", "rsi", "rdx", "r8",  "r9",  "r10"};

void regs_roundtrip(struct regbuf *b);

#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * A whole function in asm rather than inline asm with clobbers: it needs every
 * GPR including rbp and rdi, which the compiler cannot give up inside a C
 * function. The buffer pointer waits on the stack while rdi holds a pattern.
 */
__asm__(
    ".pushsection .text\n"
    ".globl regs_roundtrip\n"
    ".type regs_roundtrip, @function\n"
    "regs_roundtrip:\n"
    "  push %rbx\n"
    "  push %rbp\n"
    "  push %r12\n"
    "  push %r13\n"
    "  push %r14\n"
    "  push %r15\n"
    "  push %rdi\n"
    "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  movdqu 208+\\n*16(%rdi), %xmm\\n\n"
    "  .endr\n"
    "  mov 0(%rdi), %rbx\n"
    "  mov 8(%rdi), %rbp\n"
    "  mov 16(%rdi), %r12\n"
    "  mov 24(%rdi), %r13\n"
    "  mov 32(%rdi), %r14\n"
    "  mov 40(%rdi), %r15\n"
    "  mov 56(%rdi), %rsi\n"
    "  mov 64(%rdi), %rdx\n"
    "  mov 72(%rdi), %r8\n"
    "  mov 80(%rdi), %r9\n"
    "  mov 88(%rdi), %r10\n"
    "  mov 48(%rdi), %rdi\n"
    "  mov $" STR(SCRATCHVM_SYS_SAVE) ", %eax\n"
    "  syscall\n"
    /* Swap: rdi gets the buffer back, the stack slot keeps rdi's value. */
    "  xchg %rdi, (%rsp)\n"
    "  mov %rax, 192(%rdi)\n"
    "  mov %rbx, 96+0(%rdi)\n"
    "  mov %rbp, 96+8(%rdi)\n"
    "  mov %r12, 96+16(%rdi)\n"
    "  mov %r13, 96+24(%rdi)\n"
    "  mov %r14, 96+32(%rdi)\n"
    "  mov %r15, 96+40(%rdi)\n"
    "  mov %rsi, 96+56(%rdi)\n"
    "  mov %rdx, 96+64(%rdi)\n"
    "  mov %r8, 96+72(%rdi)\n"
    "  mov %r9, 96+80(%rdi)\n"
    "  mov %r10, 96+88(%rdi)\n"
    "  pop %rax\n"
    "  mov %rax, 96+48(%rdi)\n"
    "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
    "  movdqu %xmm\\n, 464+\\n*16(%rdi)\n"
    "  .endr\n"
    "  pop %r15\n"
    "  pop %r14\n"
    "  pop %r13\n"
    "  pop %r12\n"
    "  pop %rbp\n"
    "  pop %rbx\n"
    "  ret\n"
    ".size regs_roundtrip, .-regs_roundtrip\n"
    ".popsection\n");

static void hex128(char *out, const uint8_t *v)
{
    for (int i = 15; i >= 0; i--)
        out += sprintf(out, "%02x", v[i]);
}

int main(void)
{
    static struct regbuf b;
    for (int i = 0; i < NGPR; i++)
        b.in_gpr[i] = 0x0123456789abcdefULL ^ ((uint64_t)(i + 1) * 0x1111111111111111ULL) ^
                      ((uint64_t)(i + 1) << 60);
    for (int i = 0; i < NXMM; i++)
        for (int j = 0; j < 16; j++)
            b.in_xmm[i][j] = (uint8_t)(0xa5 ^ (i * 16 + j) ^ (j << 4));

    regs_roundtrip(&b);

    int bad = 0;
    for (int i = 0; i < NGPR; i++) {
        if (b.out_gpr[i] != b.in_gpr[i]) {
            printf("%s differs: got %016llx want %016llx\n", gpr_names[i],
                   (unsigned long long)b.out_gpr[i], (unsigned long long)b.in_gpr[i]);
            bad = 1;
        }
    }
    for (int i = 0; i < NXMM; i++) {
        if (memcmp(b.out_xmm[i], b.in_xmm[i], 16) != 0) {
            char got[33], want[33];
            hex128(got, b.out_xmm[i]);
            hex128(want, b.in_xmm[i]);
            printf("xmm%d differs: got %s want %s\n", i, got, want);
            bad = 1;
        }
    }
    if (!bad)
        printf("regs ok\n");
    printf("save=%s\n", b.ret == -38 ? "native" : "vm");
    return bad;
}
