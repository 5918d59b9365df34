/// LookoutModel: see DESIGN.md.
public enum LookoutModelModule {}
