/* Software-in-the-loop stand-in for FreeRTOS's task.h: the app task's sleep. */
#ifndef GHP_SIL_TASK_H
#define GHP_SIL_TASK_H

#include "FreeRTOS.h"

void vTaskDelay(const TickType_t xTicksToDelay);

#endif
