// libyaml's event parser (the system's libyaml 0.2), for LookoutEvents' rule files.
#ifndef CLOOKOUT_YAML_H
#define CLOOKOUT_YAML_H

#include <yaml.h>

#endif
