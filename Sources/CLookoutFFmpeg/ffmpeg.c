#include "CLookoutFFmpeg.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

int lk_averror_eagain(void) { return AVERROR(EAGAIN); }
int lk_averror_eof(void) { return AVERROR_EOF; }
int lk_averror_exit(void) { return AVERROR_EXIT; }

void lk_interrupt_reset(lk_interrupt *state) {
    atomic_store(&state->stop, 0);
    atomic_store(&state->deadline_us, 0);
    atomic_store(&state->fired, 0);
}

void lk_interrupt_stop(lk_interrupt *state) { atomic_store(&state->stop, 1); }

void lk_interrupt_set_deadline(lk_interrupt *state, int64_t deadline_us) {
    atomic_store(&state->deadline_us, deadline_us);
    int expected = 2;
    atomic_compare_exchange_strong(&state->fired, &expected, 0);
}

int lk_interrupt_is_stopped(lk_interrupt *state) { return atomic_load(&state->stop); }

int lk_interrupt_fired(lk_interrupt *state) { return atomic_load(&state->fired); }

static int lk_interrupt_check(void *opaque) {
    lk_interrupt *state = opaque;
    if (atomic_load(&state->stop)) {
        atomic_store(&state->fired, 1);
        return 1;
    }
    int64_t deadline = atomic_load(&state->deadline_us);
    if (deadline > 0 && av_gettime_relative() > deadline) {
        atomic_store(&state->fired, 2);
        return 1;
    }
    return 0;
}

void lk_interrupt_install(AVFormatContext *context, lk_interrupt *state) {
    context->interrupt_callback.callback = lk_interrupt_check;
    context->interrupt_callback.opaque = state;
}

int lk_scale_to_bgr(struct SwsContext **context, const AVFrame *frame, uint8_t *dst, int dst_stride, int flags) {
    *context = sws_getCachedContext(*context, frame->width, frame->height, frame->format, frame->width,
                                    frame->height, AV_PIX_FMT_BGR24, flags, NULL, NULL, NULL);
    if (!*context) return AVERROR(EINVAL);
    uint8_t *planes[4] = {dst, NULL, NULL, NULL};
    int strides[4] = {dst_stride, 0, 0, 0};
    return sws_scale(*context, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height, planes,
                     strides);
}

int lk_copy_to_nv12(struct SwsContext **context, const AVFrame *frame, uint8_t *dst, int pitch) {
    const int w = frame->width, h = frame->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    uint8_t *uv = dst + (size_t)pitch * h;
    if (frame->format == AV_PIX_FMT_YUV420P || frame->format == AV_PIX_FMT_NV12) {
        for (int y = 0; y < h; y++) memcpy(dst + (size_t)y * pitch, frame->data[0] + (size_t)y * frame->linesize[0], w);
        if (frame->format == AV_PIX_FMT_NV12) {
            for (int y = 0; y < ch; y++)
                memcpy(uv + (size_t)y * pitch, frame->data[1] + (size_t)y * frame->linesize[1], 2 * cw);
            return 0;
        }
        for (int y = 0; y < ch; y++) {
            const uint8_t *u = frame->data[1] + (size_t)y * frame->linesize[1];
            const uint8_t *v = frame->data[2] + (size_t)y * frame->linesize[2];
            uint8_t *row = uv + (size_t)y * pitch;
            for (int x = 0; x < cw; x++) {
                row[2 * x] = u[x];
                row[2 * x + 1] = v[x];
            }
        }
        return 0;
    }
    *context = sws_getCachedContext(*context, w, h, frame->format, w, h, AV_PIX_FMT_NV12, SWS_BICUBIC, NULL, NULL,
                                    NULL);
    if (!*context) return AVERROR(EINVAL);
    uint8_t *planes[4] = {dst, uv, NULL, NULL};
    int strides[4] = {pitch, pitch, 0, 0};
    int rows = sws_scale(*context, (const uint8_t *const *)frame->data, frame->linesize, 0, h, planes, strides);
    return rows < 0 ? rows : 0;
}

int lk_scale_from_bgr(struct SwsContext **context, const uint8_t *src, int src_stride, int width, int height,
                      AVFrame *frame) {
    *context = sws_getCachedContext(*context, width, height, AV_PIX_FMT_BGR24, frame->width, frame->height,
                                    frame->format, SWS_BICUBIC, NULL, NULL, NULL);
    if (!*context) return AVERROR(EINVAL);
    const uint8_t *planes[4] = {src, NULL, NULL, NULL};
    int strides[4] = {src_stride, 0, 0, 0};
    return sws_scale(*context, planes, strides, 0, height, frame->data, frame->linesize);
}

int lk_parse_coded_format(enum AVCodecID codec_id, const uint8_t *data, int size, int *coded_width, int *coded_height,
                          int *format) {
    *coded_width = 0;
    *coded_height = 0;
    *format = -1;
    AVCodecParserContext *parser = av_parser_init(codec_id);
    if (!parser) return AVERROR(ENOSYS);
    // No extradata on purpose: an avcC/hvcC record would make the parser read the Annex-B data as length-prefixed.
    AVCodecContext *context = avcodec_alloc_context3(NULL);
    if (!context) {
        av_parser_close(parser);
        return AVERROR(ENOMEM);
    }
    context->codec_type = AVMEDIA_TYPE_VIDEO;
    context->codec_id = codec_id;
    parser->flags |= PARSER_FLAG_COMPLETE_FRAMES;
    uint8_t *out = NULL;
    int out_size = 0;
    int used = av_parser_parse2(parser, context, &out, &out_size, data, size, AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    if (used >= 0) {
        *coded_width = parser->coded_width;
        *coded_height = parser->coded_height;
        *format = parser->format;
    }
    av_parser_close(parser);
    avcodec_free_context(&context);
    return used < 0 ? used : 0;
}

void lk_error_text(int code, char *buffer, int size) {
    if (size <= 0) return;
    if (av_strerror(code, buffer, (size_t)size) < 0) snprintf(buffer, (size_t)size, "error %d", code);
    buffer[size - 1] = 0;
}

unsigned lk_avformat_version(void) { return avformat_version(); }
unsigned lk_avcodec_version(void) { return avcodec_version(); }
