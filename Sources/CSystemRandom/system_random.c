// Swift's Glibc module does not expose getrandom(2), and SystemRandomNumberGenerator asks for 8 bytes per
// system call: this fills a whole batch with one call.
#include "CSystemRandom.h"

#if defined(__linux__)
#include <errno.h>
#include <sys/random.h>

int c_system_random_fill(void *buffer, size_t count) {
    size_t filled = 0;
    while (filled < count) {
        ssize_t result = getrandom((char *)buffer + filled, count - filled, 0);
        if (result < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        filled += (size_t)result;
    }
    return 0;
}
#else
#include <stdlib.h>

int c_system_random_fill(void *buffer, size_t count) {
    arc4random_buf(buffer, count);
    return 0;
}
#endif
