/// LookoutCPU: see DESIGN.md.
public enum LookoutCPUModule {}
