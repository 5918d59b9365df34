#ifndef CLOOKOUT_FFMPEG_H
#define CLOOKOUT_FFMPEG_H

// FFmpeg 5.1 (Debian bookworm's libav*, or the static build of scripts/build-ffmpeg-static.sh) and the few
// helpers Swift cannot express: error-code macros, the interrupt callback, sws_scale over AVFrame planes, and a
// codec parser run over one packet.

#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/time.h>
#include <libswscale/swscale.h>
#include <stdatomic.h>
#include <stdint.h>

// AVERROR(EAGAIN), AVERROR_EOF and AVERROR_EXIT are macros Swift does not import.
int lk_averror_eagain(void);
int lk_averror_eof(void);
int lk_averror_exit(void);

/// Shared between a decoding thread and whoever may stop it: FFmpeg polls `lk_interrupt_check` while it blocks
/// in I/O. It aborts the call when `stop` is set, or when `deadline_us` (av_gettime_relative() microseconds, 0 =
/// none) has passed: the stall detector of live streams.
typedef struct lk_interrupt {
    _Atomic int stop;
    _Atomic int64_t deadline_us;
    _Atomic int fired; // 1 = stopped, 2 = deadline passed (set when the callback aborted a call)
} lk_interrupt;

void lk_interrupt_reset(lk_interrupt *state);
void lk_interrupt_stop(lk_interrupt *state);
void lk_interrupt_set_deadline(lk_interrupt *state, int64_t deadline_us);
int lk_interrupt_fired(lk_interrupt *state);
int lk_interrupt_is_stopped(lk_interrupt *state);
/// Installs the callback on a context made by avformat_alloc_context (before avformat_open_input).
void lk_interrupt_install(AVFormatContext *context, lk_interrupt *state);

/// Converts `frame` to packed BGR24 at `dst` (rows `dst_stride` bytes apart), reusing *context when the
/// geometry is unchanged. Returns the number of rows written or a negative AVERROR.
int lk_scale_to_bgr(struct SwsContext **context, const AVFrame *frame, uint8_t *dst, int dst_stride, int flags);

/// Writes `frame` as NV12 at `dst`: `frame->height` rows of Y, then `(height + 1) / 2` rows of interleaved U V, all
/// `pitch` bytes apart (pitch ≥ width rounded up to even). YUV420P and NV12 frames are copied (chroma interleaved,
/// no arithmetic); other formats go through sws_scale. Returns 0 or a negative AVERROR.
int lk_copy_to_nv12(struct SwsContext **context, const AVFrame *frame, uint8_t *dst, int pitch);

/// Converts packed BGR24 rows into `frame`'s planes (the encoder's pixel format and size).
int lk_scale_from_bgr(struct SwsContext **context, const uint8_t *src, int src_stride, int width, int height,
                      AVFrame *frame);

/// Runs the codec's parser (when this FFmpeg build has one for `codec_id`) over one complete Annex-B access unit that
/// carries its parameter sets in-band, for what a container does not say: the coded size (whole macroblocks or
/// coding blocks, before the cropping that gives the display size) and the pixel format. Writes 0 (sizes) or -1
/// (format) where the parser told nothing. Returns 0, or a negative AVERROR (AVERROR(ENOSYS): no parser).
int lk_parse_coded_format(enum AVCodecID codec_id, const uint8_t *data, int size, int *coded_width, int *coded_height,
                          int *format);

/// `av_strerror` into a caller buffer; always NUL-terminated.
void lk_error_text(int code, char *buffer, int size);

/// The library versions this build runs with, e.g. "libavformat 59.27.100".
unsigned lk_avformat_version(void);
unsigned lk_avcodec_version(void);

#endif
