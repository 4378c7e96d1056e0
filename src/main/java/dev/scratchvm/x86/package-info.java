/**
 * Architectural x86-64 vCPU state as plain records (registers, segments, MSRs, CPUID
 * entries, pending events): the vocabulary shared by {@code kvm}, which moves them in and
 * out of KVM, and {@code state}, which saves them. Depends on nothing.
 */
package dev.scratchvm.x86;
