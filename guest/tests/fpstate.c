/*
 * Floating-point state across SAVE(): the rounding mode (x87 control word and
 * MXCSR), sticky exception flags, values live on the x87 register stack, and
 * SSE / long double computations that straddle the save.
 * Exit status 0 iff every check passed.
 */
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scratchvm.h"

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

/*
 * Pushes four values onto the x87 stack, optionally issues the SAVE syscall
 * while they are live, then pops them to out[] (top of stack first).
 * The second call, without the syscall, gives the reference values: fldpi and
 * friends round according to the current rounding mode.
 */
static long x87_roundtrip(long double out[4], const long double *in, int do_save)
{
    long ret = -38;
    if (do_save) {
        __asm__ volatile("fldpi\n\t"
                         "fldl2e\n\t"
                         "fld1\n\t"
                         "fldt %[in]\n\t"
                         "syscall\n\t"
                         "fstpt %[o0]\n\t"
                         "fstpt %[o1]\n\t"
                         "fstpt %[o2]\n\t"
                         "fstpt %[o3]\n\t"
                         : "=a"(ret), [o0] "=m"(out[0]), [o1] "=m"(out[1]), [o2] "=m"(out[2]),
                           [o3] "=m"(out[3])
                         : "a"((long)SCRATCHVM_SYS_SAVE), [in] "m"(*in)
                         : "rcx", "r11", "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)",
                           "st(5)", "st(6)", "st(7)");
    } else {
        __asm__ volatile("fldpi\n\t"
                         "fldl2e\n\t"
                         "fld1\n\t"
                         "fldt %[in]\n\t"
                         "fstpt %[o0]\n\t"
                         "fstpt %[o1]\n\t"
                         "fstpt %[o2]\n\t"
                         "fstpt %[o3]\n\t"
                         : [o0] "=m"(out[0]), [o1] "=m"(out[1]), [o2] "=m"(out[2]),
                           [o3] "=m"(out[3])
                         : [in] "m"(*in)
                         : "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
                           "st(7)");
    }
    return ret;
}

int main(void)
{
    volatile double one = 1.0, three = 3.0, zero = 0.0, tenth = 0.1;
    volatile long double lone = 1.0L, lthree = 3.0L;

    feclearexcept(FE_ALL_EXCEPT);
    check(fesetround(FE_UPWARD) == 0, "fesetround(FE_UPWARD)");

    /*
     * Results go to volatiles: without -frounding-math the compiler may move
     * arithmetic across fesetround(), i.e. out of the rounding mode under test.
     */
    volatile double third_before = one / three;
    volatile double inf = one / zero; /* raises FE_DIVBYZERO */
    (void)inf;

    /* Half of each accumulation before the save, half after. */
    volatile double sse_sum = 0.0;
    for (int i = 0; i < 500; i++)
        sse_sum += tenth;
    volatile long double x87_sum = 0.0L;
    for (int k = 1; k <= 500; k++)
        x87_sum += lone / ((long double)k * k);

    volatile long double in = lone / lthree;
    long double ref[4], got[4];
    memset(ref, 0, sizeof ref);
    memset(got, 0, sizeof got);
    long double in_copy = in;
    x87_roundtrip(ref, &in_copy, 0);
    long r = x87_roundtrip(got, &in_copy, 1);

    /* Read the state before anything else can touch it. */
    int round_after = fegetround();
    int divbyzero_after = fetestexcept(FE_DIVBYZERO) != 0;
    uint16_t cw;
    uint32_t mxcsr;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));

    volatile double third_after = one / three;
    for (int i = 0; i < 500; i++)
        sse_sum += tenth;
    for (int k = 501; k <= 1000; k++)
        x87_sum += lone / ((long double)k * k);

    /* printf may honour the rounding mode; print under the default one. */
    fesetround(FE_TONEAREST);

    if (r != 0 && r != -38) {
        fprintf(stderr, "SAVE failed: %ld\n", r);
        return 1;
    }
    check(round_after == FE_UPWARD, "rounding mode still upward");
    check((cw & 0x0c00) == 0x0800, "x87 control word rounding bits");
    check((mxcsr & 0x6000) == 0x4000, "mxcsr rounding bits");
    check(divbyzero_after, "FE_DIVBYZERO flag still set");
    check(third_after == third_before, "1/3 rounded the same after");
    volatile double third_nearest = one / three;
    check(third_before > third_nearest, "1/3 was rounded upward");
    /* fstpt writes 10 bytes; the rest of each 16-byte slot is padding. */
    int x87_same = 1;
    for (int i = 0; i < 4; i++)
        x87_same &= memcmp(&got[i], &ref[i], 10) == 0;
    check(x87_same, "x87 register stack preserved");
    printf("x87 control word %04x\n", cw);
    printf("mxcsr %08x\n", mxcsr);
    printf("third %.17g\n", third_before);
    printf("sse sum %.17g\n", sse_sum);
    printf("x87 sum %.21Lg\n", x87_sum);
    printf("x87 st0 %.21Lg\n", got[0]);
    printf("x87 st1 %.21Lg\n", got[1]);
    printf("x87 st2 %.21Lg\n", got[2]);
    printf("x87 st3 %.21Lg\n", got[3]);
    printf("fpstate %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
