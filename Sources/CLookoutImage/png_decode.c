#include "CLookoutImage.h"
#include "message.h"

#include <setjmp.h>
#include <stdlib.h>
#include <png.h>

// libpng reports fatal errors through an error function that must not return: it jumps back to the setjmp in
// png_jmpbuf. The read callback flags data that ends early so that it is reported as truncation.
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    int premature_end;
    char text[256];
} lk_png_reader;

static void lk_png_error(png_structp png, png_const_charp text) {
    lk_png_reader *reader = (lk_png_reader *)png_get_error_ptr(png);
    lk_set_message(reader->text, sizeof(reader->text), text);
    png_longjmp(png, 1);
}

static void lk_png_warning(png_structp png, png_const_charp text) {
    // OpenCV ignores libpng warnings (for example a bad CRC in an ancillary chunk, which libpng skips).
    (void)png;
    (void)text;
}

static void lk_png_read(png_structp png, png_bytep out, size_t count) {
    lk_png_reader *reader = (lk_png_reader *)png_get_io_ptr(png);
    if (count > reader->size - reader->position) {
        reader->premature_end = 1;
        png_error(png, "premature end of data");
    }
    memcpy(out, reader->data + reader->position, count);
    reader->position += count;
}

static uint32_t lk_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static const uint8_t lk_png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

// Walks the chunk list without decompressing: IHDR gives the size, eXIf may sit before or after the image data
// (OpenCV looks in both places), so the orientation is known before decoding.
int lk_png_info(const uint8_t *data, size_t size, uint8_t *exif, size_t exif_capacity, lk_image_info *info,
                char *message, size_t message_capacity) {
    memset(info, 0, sizeof(*info));
    if (size < 8 || memcmp(data, lk_png_signature, 8) != 0) {
        lk_set_message(message, message_capacity, "not a PNG signature");
        return LK_ERR_CORRUPT;
    }
    if (size < 8 + 8 + 13) {
        lk_set_message(message, message_capacity, "premature end of data");
        return LK_ERR_TRUNCATED;
    }
    if (lk_be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4) != 0) {
        lk_set_message(message, message_capacity, "IHDR chunk missing or malformed");
        return LK_ERR_CORRUPT;
    }
    const uint8_t *ihdr = data + 16;
    info->width = (int32_t)lk_be32(ihdr);
    info->height = (int32_t)lk_be32(ihdr + 4);
    info->bit_depth = ihdr[8];
    info->components = ihdr[9];
    if (lk_be32(ihdr) == 0 || lk_be32(ihdr + 4) == 0 || lk_be32(ihdr) > 0x7FFFFFFF || lk_be32(ihdr + 4) > 0x7FFFFFFF) {
        lk_set_message(message, message_capacity, "invalid image size in IHDR");
        return LK_ERR_CORRUPT;
    }
    size_t position = 8;
    while (size - position >= 12) {
        size_t length = lk_be32(data + position);
        const uint8_t *type = data + position + 4;
        if (length > size - position - 12) break;  // a cut chunk: decoding will report it
        if (memcmp(type, "eXIf", 4) == 0) {
            if (exif != NULL && exif_capacity > 0) {
                memcpy(exif, data + position + 8, length < exif_capacity ? length : exif_capacity);
            }
            info->exif_size = length;
            break;
        }
        if (memcmp(type, "IEND", 4) == 0) break;
        position += length + 12;
    }
    return LK_OK;
}

int lk_png_decode(const uint8_t *data, size_t size, uint8_t *bgr, size_t capacity, lk_image_info *info,
                  char *message, size_t message_capacity) {
    memset(info, 0, sizeof(*info));
    lk_png_reader reader = {data, size, 0, 0, {0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, lk_png_error, lk_png_warning);
    if (png == NULL) {
        lk_set_message(message, message_capacity, "out of memory");
        return LK_ERR_MEMORY;
    }
    png_infop png_info = png_create_info_struct(png);
    if (png_info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        lk_set_message(message, message_capacity, "out of memory");
        return LK_ERR_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &png_info, NULL);
        if (reader.premature_end) {
            lk_set_message(message, message_capacity, "premature end of data");
            return LK_ERR_TRUNCATED;
        }
        lk_set_message(message, message_capacity, reader.text[0] ? reader.text : "corrupt PNG data");
        return LK_ERR_CORRUPT;
    }
    png_set_read_fn(png, &reader, lk_png_read);
    png_read_info(png, png_info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(png, png_info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);
    info->width = (int32_t)width;
    info->height = (int32_t)height;
    info->bit_depth = bit_depth;
    info->components = color_type;
    size_t stride = (size_t)width * 3;
    if ((size_t)height > 0 && stride > capacity / (size_t)height) {
        png_destroy_read_struct(&png, &png_info, NULL);
        lk_set_message(message, message_capacity, "output buffer too small");
        return LK_ERR_CAPACITY;
    }
    // The same transforms, in the same order, as OpenCV's PngDecoder::readData for a 3-channel 8-bit Mat.
    if (bit_depth == 16) png_set_strip_16(png);
    png_set_strip_alpha(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color_type & PNG_COLOR_MASK_COLOR) {
        png_set_bgr(png);
    } else {
        png_set_gray_to_rgb(png);
    }
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, png_info);
    if (png_get_rowbytes(png, png_info) != stride) {
        png_destroy_read_struct(&png, &png_info, NULL);
        lk_set_message(message, message_capacity, "unexpected PNG row layout after conversion to BGR");
        return LK_ERR_UNSUPPORTED;
    }
    // Reading row by row into the output (all passes for interlaced files) needs no row-pointer array.
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(png, bgr + (size_t)y * stride, NULL);
        }
    }
    // Like OpenCV, read up to IEND: a file cut after its image data is still an error.
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &png_info, NULL);
    return LK_OK;
}
