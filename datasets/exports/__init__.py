"""Dataset versions: immutable, signed exports of a project's annotations."""
