#include "CLookoutImage.h"
#include <stdlib.h>

// Encoders return buffers from malloc (libjpeg's jpeg_mem_dest, our PNG writer): free them the same way.
void lk_free(void *pointer) { free(pointer); }
