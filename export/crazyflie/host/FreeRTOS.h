/* Software-in-the-loop stand-in for FreeRTOS.h (ghp export --check): only what an app's controller file uses. */
#ifndef GHP_SIL_FREERTOS_H
#define GHP_SIL_FREERTOS_H

#include <stdint.h>

typedef uint32_t TickType_t;
#define configTICK_RATE_HZ ((TickType_t)1000)
#define M2T(X) ((TickType_t)(X))
#define T2M(X) ((uint32_t)(X))

#endif
