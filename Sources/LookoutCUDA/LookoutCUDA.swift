/// LookoutCUDA: see DESIGN.md.
public enum LookoutCUDAModule {}
