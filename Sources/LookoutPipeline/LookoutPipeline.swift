/// LookoutPipeline: see DESIGN.md.
public enum LookoutPipelineModule {}
