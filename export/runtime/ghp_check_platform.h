/* What ghp's check harness needs from a platform: text output, exit, and (target only) a down-counting timer. */
#ifndef GHP_CHECK_PLATFORM_H
#define GHP_CHECK_PLATFORM_H
#include <stdint.h>
void ghp_put(const char *s);
void ghp_exit(int code);
void ghp_timer_start(void);
uint32_t ghp_timer_now(void);
#endif
