/* Host side of ghp's check harness: stdout and exit. */
#include <stdio.h>
#include <stdlib.h>

#include "ghp_check_platform.h"

void ghp_put(const char *s) { (void)fputs(s, stdout); }
void ghp_exit(int code) { exit(code); }
void ghp_timer_start(void) {}
uint32_t ghp_timer_now(void) { return 0u; }
