"""The pure domain core: rules of the sunshine vote, with no Flask or SQLAlchemy imports."""
