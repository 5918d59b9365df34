/// LookoutMedia: see DESIGN.md.
public enum LookoutMediaModule {}
