/// LookoutYOLO: see DESIGN.md.
public enum LookoutYOLOModule {}
