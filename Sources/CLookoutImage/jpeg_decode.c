#include "CLookoutImage.h"
#include "message.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <jerror.h>

// libjpeg calls error_exit for fatal errors and expects it not to return: we jump back to the entry point.
// A premature end of data is only a warning to libjpeg (it inserts a fake EOI and pads the image with gray), but
// for us it is an error, decided from the warnings seen:
// - the data ended while reading the header, or
// - the data ended and the entropy decoder ran out of bits (JWRN_HIT_MARKER: pixels are missing), or
// - the data ended in a progressive file (later scans may be missing, which no warning reveals).
// A baseline file that lacks only its final EOI marker loses no pixels and decodes, as in OpenCV.
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int premature_end;
    int data_ended;
    int ran_out_of_bits;
    char text[JMSG_LENGTH_MAX];
} lk_jpeg_error;

static void lk_jpeg_error_exit(j_common_ptr cinfo) {
    lk_jpeg_error *err = (lk_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->text);
    longjmp(err->jump, 1);
}

static void lk_jpeg_emit_message(j_common_ptr cinfo, int level) {
    lk_jpeg_error *err = (lk_jpeg_error *)cinfo->err;
    if (level != -1 || !cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        err->data_ended = 1;
        if (d->output_height == 0 || d->progressive_mode) err->premature_end = 1;
    } else if (cinfo->err->msg_code == JWRN_HIT_MARKER) {
        err->ran_out_of_bits = 1;
    }
    if (err->data_ended && err->ran_out_of_bits) err->premature_end = 1;
}

static void lk_jpeg_init(struct jpeg_decompress_struct *cinfo, lk_jpeg_error *err) {
    cinfo->err = jpeg_std_error(&err->pub);
    err->pub.error_exit = lk_jpeg_error_exit;
    err->pub.emit_message = lk_jpeg_emit_message;
    err->premature_end = 0;
    err->data_ended = 0;
    err->ran_out_of_bits = 0;
    err->text[0] = '\0';
}

static int lk_jpeg_fail(lk_jpeg_error *err, char *message, size_t capacity) {
    if (err->premature_end) {
        lk_set_message(message, capacity, "premature end of data");
        return LK_ERR_TRUNCATED;
    }
    lk_set_message(message, capacity, err->text[0] ? err->text : "corrupt JPEG data");
    if (err->pub.msg_code == JERR_OUT_OF_MEMORY) return LK_ERR_MEMORY;
    return LK_ERR_CORRUPT;
}

static void lk_jpeg_fill_info(struct jpeg_decompress_struct *cinfo, lk_image_info *info) {
    info->width = (int32_t)cinfo->image_width;
    info->height = (int32_t)cinfo->image_height;
    info->components = cinfo->num_components;
    info->bit_depth = cinfo->data_precision;
}

// Copies the first APP1 marker that starts with "Exif\0\0" (its TIFF payload) into the caller's buffer.
static size_t lk_jpeg_copy_exif(struct jpeg_decompress_struct *cinfo, uint8_t *exif, size_t capacity) {
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length < 6) continue;
        if (memcmp(m->data, "Exif\0\0", 6) != 0) continue;
        size_t n = m->data_length - 6;
        if (exif != NULL && capacity > 0) memcpy(exif, m->data + 6, n < capacity ? n : capacity);
        return n;
    }
    return 0;
}

int lk_jpeg_info(const uint8_t *data, size_t size, uint8_t *exif, size_t exif_capacity, lk_image_info *info,
                 char *message, size_t message_capacity) {
    struct jpeg_decompress_struct cinfo;
    lk_jpeg_error err;
    memset(info, 0, sizeof(*info));
    lk_jpeg_init(&cinfo, &err);
    if (setjmp(err.jump)) {
        int status = lk_jpeg_fail(&err, message, message_capacity);
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    lk_jpeg_fill_info(&cinfo, info);
    info->exif_size = lk_jpeg_copy_exif(&cinfo, exif, exif_capacity);
    jpeg_destroy_decompress(&cinfo);
    if (err.premature_end) {
        lk_set_message(message, message_capacity, "premature end of data");
        return LK_ERR_TRUNCATED;
    }
    return LK_OK;
}

// OpenCV's CMYK to BGR (icvCvt_CMYK2BGR_8u_C4C3R): libjpeg hands back the stored (Adobe, inverted) values and
// OpenCV applies this integer formula; we mirror it so that CMYK files decode to the same bytes.
static void lk_cmyk_row_to_bgr(const uint8_t *cmyk, uint8_t *bgr, JDIMENSION width) {
    for (JDIMENSION x = 0; x < width; x++, cmyk += 4, bgr += 3) {
        int c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
        c = k - ((255 - c) * k >> 8);
        m = k - ((255 - m) * k >> 8);
        y = k - ((255 - y) * k >> 8);
        bgr[0] = (uint8_t)y;
        bgr[1] = (uint8_t)m;
        bgr[2] = (uint8_t)c;
    }
}

int lk_jpeg_decode(const uint8_t *data, size_t size, uint8_t *bgr, size_t capacity, lk_image_info *info,
                   char *message, size_t message_capacity) {
    struct jpeg_decompress_struct cinfo;
    lk_jpeg_error err;
    memset(info, 0, sizeof(*info));
    lk_jpeg_init(&cinfo, &err);
    if (setjmp(err.jump)) {
        int status = lk_jpeg_fail(&err, message, message_capacity);
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    lk_jpeg_fill_info(&cinfo, info);
    if (cinfo.data_precision != 8) {
        jpeg_destroy_decompress(&cinfo);
        lk_set_message(message, message_capacity, "only 8-bit JPEG is supported");
        return LK_ERR_UNSUPPORTED;
    }
    size_t needed = (size_t)cinfo.image_width * (size_t)cinfo.image_height * 3;
    if (needed > capacity) {
        jpeg_destroy_decompress(&cinfo);
        lk_set_message(message, message_capacity, "output buffer too small");
        return LK_ERR_CAPACITY;
    }
    int cmyk = cinfo.num_components == 4;
    if (cmyk) {
        cinfo.out_color_space = JCS_CMYK;
    } else {
        // libjpeg-turbo converts YCbCr, RGB and grayscale (replicated) straight to BGR.
        cinfo.out_color_space = JCS_EXT_BGR;
    }
    jpeg_start_decompress(&cinfo);
    const size_t stride = (size_t)cinfo.output_width * 3;
    JSAMPARRAY cmyk_row = NULL;
    if (cmyk) {
        cmyk_row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, cinfo.output_width * 4, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *row = bgr + (size_t)cinfo.output_scanline * stride;
        if (cmyk) {
            if (jpeg_read_scanlines(&cinfo, cmyk_row, 1) != 1) break;
            lk_cmyk_row_to_bgr(cmyk_row[0], row, cinfo.output_width);
        } else {
            JSAMPROW rows[1] = {row};
            if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) break;
        }
        if (err.premature_end) break;
    }
    if (err.premature_end || cinfo.output_scanline < cinfo.output_height) {
        jpeg_destroy_decompress(&cinfo);
        lk_set_message(message, message_capacity, "premature end of data");
        return LK_ERR_TRUNCATED;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return LK_OK;
}
