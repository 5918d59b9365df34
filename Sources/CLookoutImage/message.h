// Copies a library's message into the caller's buffer (always NUL-terminated, cut to fit).
#ifndef LK_MESSAGE_H
#define LK_MESSAGE_H
#include <stddef.h>
#include <string.h>

static inline void lk_set_message(char *message, size_t capacity, const char *text) {
    if (message == NULL || capacity == 0) return;
    size_t n = strlen(text);
    if (n >= capacity) n = capacity - 1;
    memcpy(message, text, n);
    message[n] = '\0';
}
#endif
