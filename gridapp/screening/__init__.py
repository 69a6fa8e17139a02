"""Screening campaigns (排查, 不落一户): a visit to every household of the places a campaign covers,
recorded on a phone by the building head or the grid member, its coverage counted by community, grid
and compound, and the households still unvisited chased up a ladder of reminders near the end."""
