#ifndef MQTT_WS_BRIDGE_CSYSTEMRANDOM_H
#define MQTT_WS_BRIDGE_CSYSTEMRANDOM_H
#include <stddef.h>

/// Fills `buffer` with `count` bytes from the operating system's CSPRNG (getrandom on Linux, arc4random_buf
/// elsewhere) in as few system calls as the kernel allows. Returns 0 on success, -1 when none is available.
int c_system_random_fill(void *buffer, size_t count);

#endif
