"""The today board (今日): the town's day in one picture, scoped to the viewer, one panel per feature."""
