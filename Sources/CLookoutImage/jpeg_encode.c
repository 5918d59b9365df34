#include "CLookoutImage.h"
#include "message.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char text[JMSG_LENGTH_MAX];
} lk_jpeg_encode_error;

static void lk_jpeg_encode_error_exit(j_common_ptr cinfo) {
    lk_jpeg_encode_error *err = (lk_jpeg_encode_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->text);
    longjmp(err->jump, 1);
}

static void lk_jpeg_encode_quiet(j_common_ptr cinfo, int level) {
    (void)cinfo;
    (void)level;
}

int lk_jpeg_encode(const uint8_t *bgr, int32_t width, int32_t height, int32_t quality, int32_t full_chroma,
                   uint8_t **out, size_t *out_size, char *message, size_t message_capacity) {
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        lk_set_message(message, message_capacity, "image size out of JPEG range (1...65500)");
        return LK_ERR_UNSUPPORTED;
    }
    struct jpeg_compress_struct cinfo;
    lk_jpeg_encode_error err;
    // volatile: these change between setjmp and a possible longjmp.
    unsigned char *volatile buffer = NULL;
    unsigned long volatile buffer_size = 0;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = lk_jpeg_encode_error_exit;
    err.pub.emit_message = lk_jpeg_encode_quiet;
    err.text[0] = '\0';
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        lk_set_message(message, message_capacity, err.text[0] ? err.text : "JPEG encoding failed");
        return LK_ERR_CORRUPT;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&buffer, (unsigned long *)&buffer_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_EXT_BGR;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : (quality > 100 ? 100 : quality), TRUE);
    if (full_chroma) {
        cinfo.comp_info[0].h_samp_factor = 1;
        cinfo.comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(&cinfo, TRUE);
    const size_t stride = (size_t)width * 3;
    while (cinfo.next_scanline < cinfo.image_height) {
        // libjpeg's API takes non-const rows; it only reads them.
        JSAMPROW row = (JSAMPROW)(bgr + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = buffer;
    *out_size = buffer_size;
    return LK_OK;
}
