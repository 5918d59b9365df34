// A small C door over libjpeg-turbo and libpng. Both libraries report fatal errors by calling an error
// handler that must not return, so every entry point here owns a setjmp and turns the library's message into a
// status plus text: nothing in this door calls abort() or exit().
//
// Decoding is two-phase: `*_info` reads the header (dimensions, EXIF bytes), then `*_decode` writes BGR8
// interleaved pixels, tightly packed, into a caller-provided buffer of a stated capacity.
#ifndef CLOOKOUT_IMAGE_H
#define CLOOKOUT_IMAGE_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes of every call in this door.
typedef enum {
    LK_OK = 0,
    /// The data is not a valid image of the format (the message says what the library found).
    LK_ERR_CORRUPT = 1,
    /// The data ended before the image did.
    LK_ERR_TRUNCATED = 2,
    /// The output buffer is smaller than width * height * 3 bytes.
    LK_ERR_CAPACITY = 3,
    /// A valid file the door does not decode (for example a 12-bit JPEG).
    LK_ERR_UNSUPPORTED = 4,
    /// The library could not allocate memory.
    LK_ERR_MEMORY = 5,
} lk_status;

/// What a header says about an image.
typedef struct {
    /// Stored dimensions, before any EXIF orientation.
    int32_t width;
    int32_t height;
    /// JPEG: the number of components (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK). PNG: the colour type.
    int32_t components;
    int32_t bit_depth;
    /// Bytes of the EXIF TIFF structure found (JPEG APP1 after "Exif\0\0", or the PNG eXIf chunk); the copy into
    /// the caller's buffer is cut at its capacity. 0 when the file has none.
    size_t exif_size;
} lk_image_info;

/// Reads a JPEG header and copies the first EXIF APP1 payload (if any) into `exif`.
int lk_jpeg_info(const uint8_t *data, size_t size, uint8_t *exif, size_t exif_capacity, lk_image_info *info,
                 char *message, size_t message_capacity);

/// Decodes a JPEG into `bgr` (width * height * 3 bytes), the way OpenCV's IMREAD_COLOR does: default IDCT and
/// fancy upsampling, libjpeg-turbo's BGR output, gray replicated, CMYK/YCCK through OpenCV's CMYK formula.
/// A premature end of data is LK_ERR_TRUNCATED, not a warning.
int lk_jpeg_decode(const uint8_t *data, size_t size, uint8_t *bgr, size_t capacity, lk_image_info *info,
                   char *message, size_t message_capacity);

/// Reads a PNG header (IHDR) and copies the eXIf chunk (if any, before or after the image data) into `exif`.
int lk_png_info(const uint8_t *data, size_t size, uint8_t *exif, size_t exif_capacity, lk_image_info *info,
                char *message, size_t message_capacity);

/// Decodes a PNG into `bgr` the way OpenCV's IMREAD_COLOR does: 16-bit keeps the high byte, alpha and tRNS are
/// dropped, palettes and gray are expanded to BGR.
int lk_png_decode(const uint8_t *data, size_t size, uint8_t *bgr, size_t capacity, lk_image_info *info,
                  char *message, size_t message_capacity);

/// Encodes tightly packed BGR8 as a baseline JPEG of the given quality (1...100), with chroma subsampled 2x2
/// (4:2:0, libjpeg's default) or, when `full_chroma` is non-zero, not at all (4:4:4). On success `*out` is a
/// buffer of `*out_size` bytes to release with `lk_free`.
int lk_jpeg_encode(const uint8_t *bgr, int32_t width, int32_t height, int32_t quality, int32_t full_chroma,
                   uint8_t **out, size_t *out_size, char *message, size_t message_capacity);

/// Encodes tightly packed BGR8 as an 8-bit RGB PNG. On success `*out` is released with `lk_free`.
int lk_png_encode(const uint8_t *bgr, int32_t width, int32_t height, uint8_t **out, size_t *out_size,
                  char *message, size_t message_capacity);

/// Releases a buffer returned by an encoder.
void lk_free(void *pointer);

/// zlib's CRC-32 (for test checksums of decoded pixels).
uint32_t lk_crc32(uint32_t crc, const uint8_t *data, size_t size);

#ifdef __cplusplus
}
#endif
#endif
