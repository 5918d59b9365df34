// Intentionally empty: SwiftPM needs one source file in a C target; the declarations live in the header.
#include "CLookoutBLAS.h"
