/* Software-in-the-loop stand-in for the firmware's debug.h: DEBUG_PRINT goes to the host's stderr. */
#ifndef GHP_SIL_DEBUG_H
#define GHP_SIL_DEBUG_H

#include <stdio.h>

#define DEBUG_PRINT(fmt, ...) fprintf(stderr, DEBUG_MODULE ": " fmt, ##__VA_ARGS__)

#endif
