#include "CLookoutImage.h"
#include "message.h"

#include <setjmp.h>
#include <stdlib.h>
#include <png.h>

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int out_of_memory;
    char text[256];
} lk_png_writer;

static void lk_png_encode_error(png_structp png, png_const_charp text) {
    lk_png_writer *writer = (lk_png_writer *)png_get_error_ptr(png);
    lk_set_message(writer->text, sizeof(writer->text), text);
    png_longjmp(png, 1);
}

static void lk_png_encode_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void lk_png_write(png_structp png, png_bytep bytes, size_t count) {
    lk_png_writer *writer = (lk_png_writer *)png_get_io_ptr(png);
    if (count > writer->capacity - writer->size) {
        size_t capacity = writer->capacity ? writer->capacity : 65536;
        while (count > capacity - writer->size) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(writer->data, capacity);
        if (grown == NULL) {
            writer->out_of_memory = 1;
            png_error(png, "out of memory");
        }
        writer->data = grown;
        writer->capacity = capacity;
    }
    memcpy(writer->data + writer->size, bytes, count);
    writer->size += count;
}

static void lk_png_flush(png_structp png) { (void)png; }

int lk_png_encode(const uint8_t *bgr, int32_t width, int32_t height, uint8_t **out, size_t *out_size,
                  char *message, size_t message_capacity) {
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0) {
        lk_set_message(message, message_capacity, "image size must be positive");
        return LK_ERR_UNSUPPORTED;
    }
    lk_png_writer writer = {NULL, 0, 0, 0, {0}};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &writer, lk_png_encode_error,
                                              lk_png_encode_warning);
    if (png == NULL) {
        lk_set_message(message, message_capacity, "out of memory");
        return LK_ERR_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        lk_set_message(message, message_capacity, "out of memory");
        return LK_ERR_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(writer.data);
        lk_set_message(message, message_capacity, writer.text[0] ? writer.text : "PNG encoding failed");
        return writer.out_of_memory ? LK_ERR_MEMORY : LK_ERR_CORRUPT;
    }
    png_set_write_fn(png, &writer, lk_png_write, lk_png_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_set_bgr(png);
    const size_t stride = (size_t)width * 3;
    for (int32_t y = 0; y < height; y++) {
        png_write_row(png, (png_const_bytep)(bgr + (size_t)y * stride));
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = writer.data;
    *out_size = writer.size;
    return LK_OK;
}
