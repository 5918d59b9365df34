#include "CLookoutImage.h"
#include <zlib.h>

uint32_t lk_crc32(uint32_t crc, const uint8_t *data, size_t size) {
    uLong value = crc;
    // zlib takes a uInt length: feed large buffers in slices.
    while (size > 0) {
        uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
        value = crc32(value, data, chunk);
        data += chunk;
        size -= chunk;
    }
    return (uint32_t)value;
}
