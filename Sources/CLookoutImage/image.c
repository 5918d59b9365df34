#include "CLookoutImage.h"
