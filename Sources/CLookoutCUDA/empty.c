#include "CLookoutCUDA.h"
