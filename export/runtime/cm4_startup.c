/* Bare-metal start-up for the emulated STM32F405 (Cortex-M4F): vector table, reset handler, FPU enable,
 * semihosting output and exit, SysTick reads. Used by ghp's self-test firmware only. */
#include <stdint.h>

#include "ghp_check_platform.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void ghp_fault_handler(void);

#define GHP_REG(addr) (*(volatile uint32_t *)(addr))
#define CPACR GHP_REG(0xE000ED88u)
#define SYST_CSR GHP_REG(0xE000E010u)
#define SYST_RVR GHP_REG(0xE000E014u)
#define SYST_CVR GHP_REG(0xE000E018u)

__attribute__((section(".isr_vector"), used)) void (*const ghp_vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler,     ghp_fault_handler, ghp_fault_handler,
    ghp_fault_handler,          ghp_fault_handler, ghp_fault_handler, 0,
    0,                          0,                 0,                 ghp_fault_handler,
    ghp_fault_handler,          0,                 ghp_fault_handler, ghp_fault_handler,
};

static uint32_t ghp_semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void ghp_put(const char *s) { (void)ghp_semihost(0x04u, s); /* SYS_WRITE0 */ }

void ghp_exit(int code)
{
    /* SYS_EXIT_EXTENDED: QEMU exits with the subcode as its own exit status. */
    static uint32_t block[2];
    block[0] = 0x20026u; /* ADP_Stopped_ApplicationExit */
    block[1] = (uint32_t)code;
    (void)ghp_semihost(0x20u, block);
    for (;;) {
    }
}

void ghp_timer_start(void)
{
    SYST_CSR = 0u;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u; /* enable, processor clock, no interrupt */
}

uint32_t ghp_timer_now(void) { return SYST_CVR; }

void ghp_fault_handler(void) { ghp_exit(3); }

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    uint32_t *dst;
    for (dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0u;
    }
    CPACR |= 0xFu << 20; /* full access to CP10/CP11: the FPU */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    ghp_exit(main());
}
