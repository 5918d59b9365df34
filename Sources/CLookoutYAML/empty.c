// libyaml is linked; this target only declares its API (see include/CLookoutYAML.h).
