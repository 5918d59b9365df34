/// Lookout: see DESIGN.md.
public enum LookoutModule {}
