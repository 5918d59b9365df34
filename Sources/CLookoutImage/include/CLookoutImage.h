// JPEG and PNG decoding/encoding through libjpeg-turbo and libpng (implemented in image.c).
#ifndef CLOOKOUT_IMAGE_H
#define CLOOKOUT_IMAGE_H
#include <stddef.h>
#include <stdint.h>
#endif
