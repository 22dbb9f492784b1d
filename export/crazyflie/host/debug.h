/* Software-in-the-loop stand-in for the firmware's debug.h: DEBUG_PRINT keeps the last message for the harness. */
#ifndef GHP_SIL_DEBUG_H
#define GHP_SIL_DEBUG_H

int ghp_sil_debug_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define DEBUG_PRINT(fmt, ...) ghp_sil_debug_print(DEBUG_MODULE ": " fmt, ##__VA_ARGS__)

#endif
